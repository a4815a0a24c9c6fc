/*
 * OmniDesk web chat widget. Plain JavaScript, no build step, no third-party code.
 * Embed with one tag:  <script src="https://SUPPORT-HOST/widget.js" data-title="Support" defer></script>
 * Every message is put on the page with textContent: nothing a user, the bot or an agent writes is parsed as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.OmniDeskWidget) {
    return; // embedded twice: the first copy owns the page
  }

  var ORIGIN = new URL(script.src, window.location.href).origin;
  var WS_ORIGIN = ORIGIN.replace(/^http/, "ws");
  var STORE_KEY = "omnidesk.webchat." + ORIGIN;
  var MAX_CHARS = 2000;
  var ACK_TIMEOUT_MS = 45000;
  var PING_INTERVAL_MS = 25000;
  var POLL_WAIT_SECONDS = 20;
  var WS_FAILURES_BEFORE_FALLBACK = 2;

  var TEXTS = {
    en: {
      open: "Open support chat",
      openUnread: function (n) { return "Open support chat, " + n + " unread"; },
      closeChat: "Close support chat",
      agentName: function (name) { return name + " · support agent"; },
      personOn: function (name) { return name ? name + " (a person) is on this conversation" : "A support agent is on this conversation"; },
      close: "Close chat",
      menu: "Support menu",
      helpCenter: "Help center",
      myTickets: "My tickets",
      backToChat: "Back to chat",
      backToTickets: "All my tickets",
      noTickets: "You have no tickets. Use “Talk to a human” to open one.",
      ticketTitle: function (n) { return "Ticket #" + n; },
      updated: "updated",
      replyLabel: "Reply on this ticket",
      replySend: "Send reply",
      loading: "Loading…",
      newTicket: "New ticket",
      formTitle: "Open a ticket",
      formTopic: "Topic",
      formDescription: "Describe the problem",
      formOptional: "(optional)",
      formFiles: "Screenshots (PNG or JPEG, optional)",
      formSubmit: "Open ticket",
      formEmpty: "Please describe the problem.",
      status: {
        submitted: "submitted",
        in_progress: "in progress",
        waiting_for_you: "waiting for you",
        resolved: "resolved",
        cancelled: "cancelled"
      },
      title: "Support",
      langButton: "中文",
      langLabel: "切换到中文 (Switch to Chinese)",
      transcript: "Conversation",
      suggestions: "Suggested replies",
      placeholder: "Type your question…",
      inputLabel: "Your message",
      send: "Send",
      human: "Talk to a human",
      attach: "Attach a screenshot (PNG or JPEG)",
      typing: "Support is typing…",
      you: "You:",
      bot: "Support:",
      notice: "Notice:",
      greeting: "Hi! Ask me anything about your account, deposits, withdrawals or trading.",
      topics: "Browse topics",
      connecting: "Connecting…",
      reconnecting: "Connection lost. Reconnecting…",
      fallback: "Live connection unavailable: using a slower connection.",
      sending: "Sending…",
      failed: "Not sent.",
      retry: "Retry",
      screenshot: "Screenshot",
      errors: {
        too_long: "Your message is too long (at most 2,000 characters).",
        rate_limited: "You are sending messages too quickly. Please wait a moment.",
        unsupported_type: "Only PNG and JPEG screenshots can be attached.",
        too_large: "That screenshot is too large (at most 5 MB).",
        empty: "The message is empty.",
        network: "Could not reach support. Check your connection and try again.",
        generic: "Something went wrong. Please try again."
      }
    },
    zh: {
      open: "打开在线客服",
      openUnread: function (n) { return "打开在线客服，" + n + " 条未读"; },
      closeChat: "关闭在线客服",
      agentName: function (name) { return name + " · 人工客服"; },
      personOn: function (name) { return name ? "人工客服 " + name + " 正在为你服务" : "人工客服正在为你服务"; },
      close: "关闭对话",
      menu: "客服菜单",
      helpCenter: "帮助中心",
      myTickets: "我的工单",
      backToChat: "返回对话",
      backToTickets: "全部工单",
      noTickets: "你还没有工单。点击“转人工客服”即可创建。",
      ticketTitle: function (n) { return "工单 #" + n; },
      updated: "更新于",
      replyLabel: "回复此工单",
      replySend: "发送回复",
      loading: "加载中…",
      newTicket: "新建工单",
      formTitle: "提交工单",
      formTopic: "问题类型",
      formDescription: "问题描述",
      formOptional: "（选填）",
      formFiles: "截图（PNG 或 JPEG，选填）",
      formSubmit: "提交工单",
      formEmpty: "请填写问题描述。",
      status: {
        submitted: "已提交",
        in_progress: "处理中",
        waiting_for_you: "等待你回复",
        resolved: "已解决",
        cancelled: "已取消"
      },
      title: "在线客服",
      langButton: "EN",
      langLabel: "Switch to English (切换到英文)",
      transcript: "对话记录",
      suggestions: "推荐回复",
      placeholder: "请输入你的问题…",
      inputLabel: "你的消息",
      send: "发送",
      human: "转人工客服",
      attach: "上传截图（PNG 或 JPEG）",
      typing: "客服正在输入…",
      you: "我：",
      bot: "客服：",
      notice: "提示：",
      greeting: "你好！账户、充值提现、交易相关的问题都可以问我。",
      topics: "浏览主题",
      connecting: "正在连接…",
      reconnecting: "连接已断开，正在重连…",
      fallback: "实时连接不可用，已切换为普通连接。",
      sending: "发送中…",
      failed: "未发送。",
      retry: "重试",
      screenshot: "截图",
      errors: {
        too_long: "消息太长（最多 2000 个字符）。",
        rate_limited: "发送太频繁，请稍后再试。",
        unsupported_type: "只能上传 PNG 或 JPEG 格式的截图。",
        too_large: "截图太大（最大 5 MB）。",
        empty: "消息为空。",
        network: "无法连接客服，请检查网络后重试。",
        generic: "出错了，请重试。"
      }
    }
  };

  // -- storage (localStorage may be disabled: then the conversation lasts as long as the page) -------------------

  var memoryStore = {};
  function load(key) {
    try {
      return window.localStorage.getItem(STORE_KEY + "." + key);
    } catch (e) {
      return memoryStore[key] || null;
    }
  }
  function save(key, value) {
    memoryStore[key] = value;
    try {
      if (value === null) {
        window.localStorage.removeItem(STORE_KEY + "." + key);
      } else {
        window.localStorage.setItem(STORE_KEY + "." + key, value);
      }
    } catch (e) {
      /* storage refused: the in-memory copy is used */
    }
  }

  function browserLang() {
    var tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    return String(tags[0]).toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  }

  var state = {
    token: load("token"),
    lang: load("lang") === "zh" || load("lang") === "en" ? load("lang") : browserLang(),
    title: script.getAttribute("data-title") || "",
    open: false,
    unread: 0,
    entries: [], // {id, clientId, dir, text, sent, el, textEl, metaEl, pending, failed, timer}
    lastId: 0,
    historyLoaded: false,
    ws: null,
    wsReady: false,
    wsFailures: 0,
    backoffMs: 1000,
    reconnectTimer: null,
    pingTimer: null,
    polling: false,
    sessionPromise: null,
    sessionChecked: false,
    counter: 0,
    typingTimer: null
  };

  function t() {
    return TEXTS[state.lang];
  }

  // -- DOM helpers: elements and text only, never HTML strings ----------------------------------------------------

  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        node.setAttribute(name, attrs[name]);
      });
    }
    return node;
  }

  function svgIcon(pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  var ICON_CLIP = "M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.7-5.7L5.8 11.4a6 6 0 0 0 8.5 8.5l6.2-6.2";
  var ICON_SEND = "M3 20l18-8L3 4v6l12 2-12 2z";

  // -- build the widget -------------------------------------------------------------------------------------------

  var host = el("div", "", { id: "omnidesk-webchat" });
  var shadow = host.attachShadow({ mode: "open" });
  var stylesheet = el("link", "", { rel: "stylesheet", href: ORIGIN + "/widget.css" });
  var root = el("div", "odw-root odw-loading");
  shadow.appendChild(stylesheet);
  shadow.appendChild(root);
  // Shown only once styled, so the page never flashes an unstyled panel.
  stylesheet.addEventListener("load", function () { root.classList.remove("odw-loading"); });
  stylesheet.addEventListener("error", function () { root.classList.remove("odw-loading"); });

  var bubble = el("button", "odw-bubble", { type: "button", "aria-expanded": "false", "aria-controls": "odw-panel" });
  bubble.appendChild(svgIcon(ICON_CHAT));
  var badge = el("span", "odw-badge", { "aria-hidden": "true" });
  badge.hidden = true;
  bubble.appendChild(badge);

  var panel = el("section", "odw-panel", { id: "odw-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "odw-title" });
  panel.hidden = true;

  var header = el("header", "odw-header");
  var titleEl = el("h2", "odw-title", { id: "odw-title" });
  var personEl = el("p", "odw-person", { role: "status" });
  personEl.hidden = true;
  var langButton = el("button", "odw-lang", { type: "button" });
  var closeButton = el("button", "odw-close", { type: "button" });
  closeButton.appendChild(svgIcon(ICON_CLOSE));
  var titles = el("div", "odw-titles");
  titles.appendChild(titleEl);
  titles.appendChild(personEl);
  header.appendChild(titles);
  header.appendChild(langButton);
  header.appendChild(closeButton);

  // The menu: the help center (a page of this server, in the widget's language) and the visitor's tickets.
  var menu = el("nav", "odw-menu");
  var helpLink = el("a", "odw-menu-item", { target: "_blank", rel: "noopener" });
  var ticketsButton = el("button", "odw-menu-item", { type: "button", "aria-controls": "odw-tickets", "aria-expanded": "false" });
  menu.appendChild(helpLink);
  menu.appendChild(ticketsButton);
  var ticketsView = el("section", "odw-tickets", { id: "odw-tickets", "aria-labelledby": "odw-tickets-title" });
  ticketsView.hidden = true;

  var statusEl = el("div", "odw-status", { role: "status", "aria-live": "polite" });
  statusEl.hidden = true;
  var log = el("div", "odw-log", { role: "log", "aria-live": "polite", "aria-relevant": "additions text", tabindex: "0" });
  var greeting = el("div", "odw-msg odw-out odw-greeting");
  var greetingText = el("p", "odw-text");
  var greetingChips = el("div", "odw-chips", { role: "group" });
  greeting.appendChild(greetingText);
  greeting.appendChild(greetingChips);
  log.appendChild(greeting);
  var typing = el("div", "odw-typing", { "aria-hidden": "true" });
  typing.hidden = true;

  var actions = el("div", "odw-actions");
  var humanButton = el("button", "odw-human", { type: "button" });
  var attachButton = el("button", "odw-attach", { type: "button" });
  attachButton.appendChild(svgIcon(ICON_CLIP));
  var fileInput = el("input", "odw-file", { type: "file", accept: "image/png,image/jpeg", tabindex: "-1", "aria-hidden": "true" });
  actions.appendChild(humanButton);
  actions.appendChild(attachButton);
  actions.appendChild(fileInput);

  var form = el("form", "odw-compose");
  var inputLabel = el("label", "odw-sr", { for: "odw-input" });
  var input = el("textarea", "odw-input", { id: "odw-input", rows: "1", autocomplete: "off" });
  var sendButton = el("button", "odw-send", { type: "submit" });
  sendButton.appendChild(svgIcon(ICON_SEND));
  form.appendChild(inputLabel);
  form.appendChild(input);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(menu);
  panel.appendChild(statusEl);
  panel.appendChild(ticketsView);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(actions);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(bubble);

  function applyTexts() {
    var x = t();
    root.setAttribute("lang", state.lang === "zh" ? "zh-CN" : "en");
    titleEl.textContent = state.title || x.title;
    paintPerson();
    langButton.textContent = x.langButton;
    langButton.setAttribute("aria-label", x.langLabel);
    closeButton.setAttribute("aria-label", x.close);
    menu.setAttribute("aria-label", x.menu);
    helpLink.textContent = x.helpCenter;
    helpLink.setAttribute("href", ORIGIN + "/" + state.lang + "/help");
    ticketsButton.textContent = x.myTickets;
    log.setAttribute("aria-label", x.transcript);
    greetingText.textContent = x.greeting;
    greetingChips.setAttribute("aria-label", x.suggestions);
    greetingChips.textContent = "";
    greetingChips.appendChild(chip(x.topics, "/help"));
    typing.textContent = x.typing;
    humanButton.textContent = x.human;
    attachButton.setAttribute("aria-label", x.attach);
    attachButton.setAttribute("title", x.attach);
    inputLabel.textContent = x.inputLabel;
    input.setAttribute("placeholder", x.placeholder);
    sendButton.setAttribute("aria-label", x.send);
    state.entries.forEach(function (entry) {
      if (entry.speakerEl) {
        entry.speakerEl.textContent = speakerOf(entry);
        paintText(entry);
      }
    });
    updateBadge();
  }

  function speakerOf(entry) {
    return entry.agent ? t().agentName(entry.agent) : speaker(entry.dir);
  }

  function speaker(dir) {
    return dir === "in" ? t().you : dir === "out" ? t().bot : t().notice;
  }

  // -- transcript -------------------------------------------------------------------------------------------------

  function chip(label, payload) {
    var button = el("button", "odw-chip", { type: "button" });
    button.textContent = label;
    button.addEventListener("click", function () {
      sendText(payload, label);
    });
    return button;
  }

  var PHOTO = /^\[photo: [^\]]*\]$/;

  // The transcript stores a screenshot as "[photo: <file>]": the visitor sees a paperclip and a word instead.
  function paintText(entry) {
    var photo = entry.dir === "in" && PHOTO.test(entry.text);
    entry.textEl.textContent = "";
    if (photo) {
      entry.textEl.textContent = t().screenshot;
    } else {
      appendLinked(entry.textEl, entry.shown || entry.text, entry.dir === "out");
    }
    entry.el.classList.toggle("odw-photo", photo);
    if (photo) {
      entry.textEl.insertBefore(svgIcon(ICON_CLIP), entry.textEl.firstChild);
    }
  }

  var URL_PATTERN = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'，。]/g;

  // Text with this server's own URLs (an answer's "read more" article) as links, built as DOM nodes; any other
  // URL stays plain text, so nobody can put a clickable link to another site in front of a visitor.
  function appendLinked(node, text, linkable) {
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while (linkable && (match = URL_PATTERN.exec(text)) !== null) {
      var url;
      try {
        url = new URL(match[0]);
      } catch (e) {
        continue;
      }
      if (url.origin !== ORIGIN) {
        continue;
      }
      node.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", "odw-link", { href: url.href, target: "_blank", rel: "noopener" });
      link.textContent = match[0];
      node.appendChild(link);
      last = match.index + match[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  function render(entry) {
    var kind = entry.dir === "in" ? "odw-in" : entry.dir === "out" ? "odw-out" : "odw-note";
    var node = el("div", "odw-msg " + kind + (entry.agent ? " odw-agent" : ""));
    // An agent's answer carries their name above it: the visitor sees a person, not the bot, is writing.
    entry.speakerEl = el("span", entry.agent ? "odw-agent-name" : "odw-sr");
    entry.speakerEl.textContent = speakerOf(entry);
    entry.textEl = el("p", "odw-text");
    entry.el = node;
    paintText(entry);
    node.appendChild(entry.speakerEl);
    node.appendChild(entry.textEl);
    // "/human" has its own button below the transcript, always in reach: no second copy among the chips.
    var offered = (entry.suggestions || []).filter(function (s) { return String(s.payload).trim() !== "/human"; });
    if (offered.length) {
      var chips = el("div", "odw-chips", { role: "group", "aria-label": t().suggestions });
      offered.forEach(function (s) {
        chips.appendChild(chip(String(s.label), String(s.payload)));
      });
      node.appendChild(chips);
    }
    entry.metaEl = el("div", "odw-meta");
    node.appendChild(entry.metaEl);
    updateMeta(entry);
    return node;
  }

  function updateMeta(entry) {
    var meta = entry.metaEl;
    meta.textContent = "";
    entry.el.classList.toggle("odw-failed", !!entry.failed);
    if (entry.failed) {
      var reason = el("span");
      reason.textContent = entry.failed + " ";
      meta.appendChild(reason);
      if (entry.retryable) {
        var retry = el("button", "odw-retry", { type: "button" });
        retry.textContent = t().retry;
        retry.addEventListener("click", function () {
          entry.failed = null;
          updateMeta(entry);
          transmit(entry);
        });
        meta.appendChild(retry);
      }
    } else if (entry.pending) {
      meta.textContent = t().sending;
    }
  }

  // Messages with a transcript id are kept in id order; a message still being sent stays where it was typed.
  function insert(entry) {
    var node = render(entry);
    var index = state.entries.length;
    if (entry.id != null) {
      while (index > 0 && state.entries[index - 1].id != null && state.entries[index - 1].id > entry.id) {
        index -= 1;
      }
      state.lastId = Math.max(state.lastId, entry.id);
    }
    var next = state.entries[index];
    state.entries.splice(index, 0, entry);
    log.insertBefore(node, next ? next.el : null);
    if (entry.dir === "out" && !next) {
      showStart(node);
    } else {
      scrollDown();
    }
    return entry;
  }

  function byId(id) {
    for (var i = 0; i < state.entries.length; i++) {
      if (state.entries[i].id === id) {
        return state.entries[i];
      }
    }
    return null;
  }

  function byClientId(clientId) {
    for (var i = 0; i < state.entries.length; i++) {
      if (state.entries[i].clientId && state.entries[i].clientId === clientId) {
        return state.entries[i];
      }
    }
    return null;
  }

  function removeEntry(entry) {
    var index = state.entries.indexOf(entry);
    if (index >= 0) {
      state.entries.splice(index, 1);
    }
    if (entry.el && entry.el.parentNode) {
      entry.el.parentNode.removeChild(entry.el);
    }
  }

  // The server stored a message we are showing: give it its id, and the stored (redacted) text if that differs.
  function confirm(entry, id, storedText) {
    clearTimeout(entry.timer);
    entry.pending = false;
    entry.failed = null;
    if (entry.afterAck) {
      var next = entry.afterAck; // once, whichever tab's ack comes first
      entry.afterAck = null;
      setTimeout(next, 0);
    }
    if (id != null) {
      var twin = byId(id);
      if (twin && twin !== entry) {
        removeEntry(entry);
        return;
      }
      entry.id = id;
      state.lastId = Math.max(state.lastId, id);
    }
    if (typeof storedText === "string" && storedText !== entry.sent) {
      entry.text = storedText;
      entry.shown = labelFor(storedText);
    }
    paintText(entry);
    updateMeta(entry);
  }

  // A message from history, a poll or another tab's ack: new ones are added, known ones confirmed.
  function merge(message, live) {
    if (message.id != null && byId(message.id)) {
      return;
    }
    var own = message.direction === "in" && message.client_id ? byClientId(message.client_id) : null;
    if (own) {
      confirm(own, message.id, message.text);
      return;
    }
    insert({
      id: message.id,
      dir: message.direction,
      text: message.text,
      shown: message.direction === "in" ? labelFor(String(message.text)) : null,
      suggestions: message.suggestions,
      agent: typeof message.agent === "string" && message.agent ? message.agent : null
    });
    if (live && message.direction === "out" && (message.agent || state.personOn)) {
      refreshPerson();
    }
    if (live && message.direction === "out" && !state.open) {
      state.unread += 1;
      updateBadge();
    }
  }

  // A tapped choice is stored as its payload ("/faq bonus-rewards"): show the label the user tapped instead, taken
  // from the choices offered before it, or the widget's own buttons.
  function labelFor(text) {
    if (text.indexOf("/newticket") === 0) {
      return text.split("\n").slice(1).join("\n");
    }
    for (var i = state.entries.length - 1; i >= 0; i--) {
      var offered = state.entries[i].dir === "out" ? state.entries[i].suggestions || [] : [];
      for (var j = 0; j < offered.length; j++) {
        if (String(offered[j].payload) === text) {
          return String(offered[j].label);
        }
      }
      if (offered.length) {
        break; // only the latest choices could have been tapped
      }
    }
    var own = { "/human": t().human, "/help": t().topics, "/lang zh": "中文", "/lang en": "English" };
    return Object.prototype.hasOwnProperty.call(own, text) ? own[text] : null;
  }

  // The header says when a person is on the conversation: a ticket an agent has taken and not yet closed.
  function refreshPerson() {
    if (!state.token) {
      return;
    }
    api("GET", "/api/webchat/tickets").then(function (data) {
      var taken = ((data && data.tickets) || []).filter(function (ticket) {
        return ticket.open && ticket.status !== "submitted";
      });
      state.personOn = taken.length > 0;
      paintPerson();
    }, function () { /* the header keeps what it said: a failed check changes nothing the visitor relies on */ });
  }

  function paintPerson() {
    var agent = null;
    for (var i = state.entries.length - 1; i >= 0 && !agent; i--) {
      agent = state.entries[i].agent || null;
    }
    personEl.hidden = !state.personOn;
    personEl.textContent = state.personOn ? t().personOn(agent) : "";
  }

  function note(text) {
    insert({ id: null, dir: "note", text: text });
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // A new answer taller than the transcript is shown from its first line, not its last: people read from the top.
  function showStart(node) {
    scrollDown();
    var overflow = node.getBoundingClientRect().top - log.getBoundingClientRect().top;
    if (overflow < 0) {
      log.scrollTop += overflow - 8;
    }
  }

  // -- My tickets: the list, one ticket with its history and a reply box -------------------------------------------

  function showTickets(on) {
    state.ticketsShown = on;
    ticketsView.hidden = !on;
    log.hidden = on;
    actions.hidden = on;
    form.hidden = on;
    if (on) {
      typing.hidden = true;
    }
    ticketsButton.setAttribute("aria-expanded", on ? "true" : "false");
  }

  function ticketsHeading(text, back, onBack) {
    ticketsView.textContent = "";
    var top = el("div", "odw-tickets-top");
    var backButton = el("button", "odw-back", { type: "button" });
    backButton.textContent = "‹ " + back;
    backButton.addEventListener("click", onBack);
    var heading = el("h3", "odw-tickets-title", { id: "odw-tickets-title", tabindex: "-1" });
    heading.textContent = text;
    top.appendChild(backButton);
    ticketsView.appendChild(top);
    ticketsView.appendChild(heading);
    return heading;
  }

  function when(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? "" : date.toLocaleString(state.lang === "zh" ? "zh-CN" : "en", {
      dateStyle: "medium", timeStyle: "short"
    });
  }

  function statusLine(ticket) {
    return (t().status[ticket.status] || ticket.status) + " · " + t().updated + " " + when(ticket.updated_at);
  }

  function openTicketList() {
    showTickets(true);
    var heading = ticketsHeading(t().myTickets, t().backToChat, closeTickets);
    var create = el("button", "odw-chip odw-new-ticket", { type: "button" });
    create.textContent = t().newTicket;
    create.addEventListener("click", openTicketForm);
    ticketsView.appendChild(create);
    var body = el("p", "odw-tickets-note");
    body.textContent = t().loading;
    ticketsView.appendChild(body);
    heading.focus();
    ensureSession().then(function () {
      return api("GET", "/api/webchat/tickets");
    }).then(function (data) {
      var tickets = (data && data.tickets) || [];
      body.textContent = tickets.length ? "" : t().noTickets;
      if (!tickets.length) {
        return;
      }
      var list = el("ul", "odw-ticket-list");
      tickets.forEach(function (ticket) {
        var item = el("li");
        var button = el("button", "odw-ticket", { type: "button" });
        var name = el("strong");
        name.textContent = "#" + ticket.number;
        var status = el("span", "odw-ticket-status odw-status-" + String(ticket.status));
        status.textContent = statusLine(ticket);
        button.appendChild(name);
        button.appendChild(status);
        button.addEventListener("click", function () { openTicket(Number(ticket.number)); });
        item.appendChild(button);
        list.appendChild(item);
      });
      ticketsView.replaceChild(list, body);
    }, function (error) {
      body.textContent = t().errors[error.code] || t().errors.network;
    });
  }

  function openTicket(number) {
    var heading = ticketsHeading(t().ticketTitle(number), t().backToTickets, openTicketList);
    var body = el("p", "odw-tickets-note");
    body.textContent = t().loading;
    ticketsView.appendChild(body);
    heading.focus();
    api("GET", "/api/webchat/tickets/" + number).then(function (data) {
      var ticket = data.ticket;
      body.textContent = statusLine(ticket);
      var history = el("div", "odw-ticket-history", { role: "log", "aria-label": t().transcript });
      var summary = el("p", "odw-text odw-summary");
      summary.textContent = String(ticket.summary || "");
      history.appendChild(summary);
      (ticket.messages || []).forEach(function (m) {
        var row = el("div", "odw-msg " + (m.direction === "in" ? "odw-in" : "odw-out"));
        var who = el("span", "odw-sr");
        who.textContent = speaker(m.direction);
        var text = el("p", "odw-text");
        appendLinked(text, PHOTO.test(m.text) ? t().screenshot : String(m.text), m.direction === "out");
        row.appendChild(who);
        row.appendChild(text);
        history.appendChild(row);
      });
      ticketsView.appendChild(history);
      if (ticket.open) {
        ticketsView.appendChild(replyBox());
      }
    }, function (error) {
      body.textContent = t().errors[error.code] || t().errors.network;
    });
  }

  // A reply on the open ticket is an ordinary message (the desk relays it to the ticket): back in the chat it shows
  // with the agent's answers.
  function replyBox() {
    var box = el("form", "odw-ticket-reply");
    var label = el("label", "", { for: "odw-ticket-input" });
    label.textContent = t().replyLabel;
    var text = el("textarea", "odw-input", { id: "odw-ticket-input", rows: "3" });
    var send = el("button", "odw-chip", { type: "submit" });
    send.textContent = t().replySend;
    box.appendChild(label);
    box.appendChild(text);
    box.appendChild(send);
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!text.value.trim()) {
        return;
      }
      var value = text.value;
      closeTickets();
      sendText(value, null);
    });
    return box;
  }

  // The ticket form: the same ticket as asking in the chat (it is sent as a message: the secret guard, the check for
  // an open ticket and the desk all apply), for visitors who prefer a form. Screenshots follow once it is open.
  function openTicketForm() {
    var heading = ticketsHeading(t().formTitle, t().backToTickets, openTicketList);
    var body = el("p", "odw-tickets-note");
    body.textContent = t().loading;
    ticketsView.appendChild(body);
    heading.focus();
    api("GET", "/api/webchat/ticket-form").then(function (spec) {
      var categories = (spec && spec.categories) || [];
      var formEl = el("form", "odw-ticket-form");
      var topicLabel = el("label", "", { for: "odw-form-topic" });
      topicLabel.textContent = t().formTopic;
      var topic = el("select", "odw-input", { id: "odw-form-topic" });
      categories.forEach(function (category, index) {
        var option = el("option", "", { value: String(index) });
        option.textContent = String((category.title || {})[state.lang] || category.slug);
        topic.appendChild(option);
      });
      var describeLabel = el("label", "", { for: "odw-form-description" });
      describeLabel.textContent = t().formDescription;
      var describe = el("textarea", "odw-input", { id: "odw-form-description", rows: "4", maxlength: "1500" });
      var questions = el("div", "odw-form-questions");
      var filesLabel = el("label", "", { for: "odw-form-files" });
      filesLabel.textContent = t().formFiles;
      var files = el("input", "", { id: "odw-form-files", type: "file", accept: "image/png,image/jpeg", multiple: "" });
      var submit = el("button", "odw-chip", { type: "submit" });
      submit.textContent = t().formSubmit;
      var problem = el("p", "odw-tickets-note", { role: "alert" });

      function showQuestions() {
        questions.textContent = "";
        var category = categories[Number(topic.value)] || { questions: [] };
        (category.questions || []).forEach(function (question, index) {
          var id = "odw-form-q" + index;
          var label = el("label", "", { for: id });
          label.textContent = String(question[state.lang] || "") + " " + t().formOptional;
          questions.appendChild(label);
          questions.appendChild(el("input", "odw-input odw-form-answer", { id: id, type: "text", maxlength: "200" }));
        });
      }
      topic.addEventListener("change", showQuestions);
      describe.addEventListener("input", function () { problem.textContent = ""; });
      showQuestions();

      [topicLabel, topic, describeLabel, describe, questions, filesLabel, files, problem, submit].forEach(function (node) {
        formEl.appendChild(node);
      });
      formEl.addEventListener("submit", function (event) {
        event.preventDefault();
        var description = describe.value.trim();
        if (!description) {
          problem.textContent = t().formEmpty;
          describe.focus();
          return;
        }
        var category = categories[Number(topic.value)] || { slug: "", questions: [] };
        var lines = ["/newticket " + category.slug, description];
        var answers = questions.querySelectorAll(".odw-form-answer");
        (category.questions || []).forEach(function (question, index) {
          var answer = answers[index] ? answers[index].value.trim() : "";
          if (answer) {
            lines.push(String(question[state.lang] || "") + " " + answer);
          }
        });
        var chosen = Array.prototype.slice.call(files.files || []);
        closeTickets();
        var entry = sendText(lines.join("\n"), lines.slice(1).join("\n"));
        if (entry && chosen.length) {
          entry.afterAck = function () { chosen.forEach(uploadScreenshot); };
        }
      });
      ticketsView.replaceChild(formEl, body);
      describe.focus();
    }, function (error) {
      body.textContent = t().errors[error.code] || t().errors.network;
    });
  }

  function closeTickets() {
    showTickets(false);
    scrollDown();
    input.focus();
  }

  function showTyping(on) {
    clearTimeout(state.typingTimer);
    typing.hidden = !on;
    if (on) {
      state.typingTimer = setTimeout(function () { typing.hidden = true; }, 30000);
      scrollDown();
    }
  }

  function updateBadge() {
    var n = state.unread;
    badge.hidden = n === 0 || state.open;
    badge.textContent = n > 9 ? "9+" : String(n);
    bubble.setAttribute("aria-label", state.open ? t().closeChat : n ? t().openUnread(n) : t().open);
  }

  function setStatus(text) {
    statusEl.textContent = text || "";
    statusEl.hidden = !text;
  }

  // -- the server -------------------------------------------------------------------------------------------------

  function ApiError(status, body) {
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? "network" : "generic");
    this.message = (body && body.message) || "";
  }

  function api(method, path, body, contentType) {
    var headers = {};
    if (state.token) {
      headers.Authorization = "Bearer " + state.token;
    }
    // Same-origin requests carry the visitor's session cookie, which the help center's ticket form shares; another
    // site embedding the widget sends none.
    var init = { method: method, headers: headers, mode: "cors", credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    return fetch(ORIGIN + path, init).then(
      function (response) {
        adoptToken(response.headers.get("X-Session-Token"));
        return response.json().catch(function () { return null; }).then(function (data) {
          if (!response.ok) {
            throw new ApiError(response.status, data);
          }
          return data;
        });
      },
      function () {
        throw new ApiError(0, null);
      }
    );
  }

  // The server renews a token still in use before it expires (a header on HTTP, a "token" frame on the socket).
  function adoptToken(token) {
    if (token && token !== state.token) {
      state.token = token;
      save("token", token);
    }
  }

  function ensureSession() {
    if (state.sessionChecked && state.token) {
      return Promise.resolve({ token: state.token, resumed: true });
    }
    if (!state.sessionPromise) {
      state.sessionPromise = api("POST", "/api/webchat/session", state.token ? { token: state.token, cookie: true } : { cookie: true }).then(
        function (data) {
          state.sessionPromise = null;
          state.sessionChecked = true;
          state.token = data.token;
          save("token", data.token);
          return data;
        },
        function (error) {
          state.sessionPromise = null;
          throw error;
        }
      );
    }
    return state.sessionPromise;
  }

  function newSessionAfterRejection() {
    state.sessionChecked = false;
    state.token = null;
    save("token", null);
    return ensureSession();
  }

  function loadHistory() {
    refreshPerson();
    return api("GET", "/api/webchat/history").then(function (data) {
      state.historyLoaded = true;
      (data.messages || []).forEach(function (m) { merge(m, false); });
    });
  }

  function catchUp() {
    return api("GET", "/api/webchat/poll?after=" + state.lastId).then(function (data) {
      (data.messages || []).forEach(function (m) { merge(m, true); });
    });
  }

  // -- WebSocket, with reconnect and an HTTP fallback -------------------------------------------------------------

  function connect() {
    if (!state.token || state.ws) {
      return;
    }
    clearTimeout(state.reconnectTimer);
    var opened = false;
    var usedToken = state.token;
    // The token goes in the first frame, never in the URL, where access logs and proxies would record it.
    var url = WS_ORIGIN + "/ws/webchat?lang=" + state.lang;
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (e) {
      socketFailed(false);
      return;
    }
    state.ws = socket;
    if (!state.polling) {
      setStatus(state.historyLoaded ? t().reconnecting : "");
    }
    socket.onopen = function () {
      opened = true;
      socket.send(JSON.stringify({ type: "auth", token: usedToken }));
    };
    socket.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      onFrame(frame);
    };
    socket.onclose = function (event) {
      state.ws = null;
      state.wsReady = false;
      clearInterval(state.pingTimer);
      if (event.code === 4401) {
        // Another request may already have replaced the token; only a rejection of the current one needs a new session.
        var renewal = usedToken === state.token ? newSessionAfterRejection() : Promise.resolve();
        renewal.then(connect, scheduleReconnect);
        return;
      }
      socketFailed(opened);
    };
  }

  function socketFailed(opened) {
    state.wsFailures = opened ? 0 : state.wsFailures + 1;
    if (state.wsFailures >= WS_FAILURES_BEFORE_FALLBACK) {
      startPolling();
    } else if (state.open && !state.polling) {
      setStatus(t().reconnecting);
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    var delay = state.backoffMs * (0.75 + Math.random() * 0.5);
    state.backoffMs = Math.min(state.backoffMs * 2, 30000);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        state.wsReady = true;
        state.wsFailures = 0;
        state.backoffMs = 1000;
        state.polling = false;
        setStatus("");
        clearInterval(state.pingTimer);
        state.pingTimer = setInterval(function () { wsSend({ type: "ping" }); }, PING_INTERVAL_MS);
        if (state.historyLoaded) {
          catchUp().catch(function () {});
        }
        state.entries.forEach(function (entry) {
          if (entry.pending && !entry.failed && entry.clientId && entry.via === "ws") {
            transmit(entry); // the socket closed before its ack: the server ignores a message it already has
          }
        });
        break;
      case "token":
        adoptToken(frame.token);
        break;
      case "typing":
        showTyping(true);
        break;
      case "reply":
        showTyping(false);
        merge({
          id: frame.id,
          direction: "out",
          text: String(frame.text),
          suggestions: frame.suggestions || [],
          agent: frame.agent
        }, true);
        break;
      case "ack":
        showTyping(false);
        merge({ id: frame.message_id, direction: "in", text: frame.text, client_id: frame.id }, false);
        break;
      case "error":
        showTyping(false);
        onError(frame.id ? byClientId(frame.id) : null, frame.code, frame.message);
        break;
      default:
        break;
    }
  }

  function wsSend(frame) {
    if (state.ws && state.wsReady) {
      state.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // Used while WebSockets cannot open (a proxy may block them); the socket keeps retrying in the background.
  function startPolling() {
    if (state.polling) {
      return;
    }
    state.polling = true;
    setStatus(t().fallback);
    var errors = 0;
    (function loop() {
      if (!state.polling || state.wsReady) {
        state.polling = false;
        return;
      }
      api("GET", "/api/webchat/poll?after=" + state.lastId + "&wait=" + POLL_WAIT_SECONDS).then(
        function (data) {
          errors = 0;
          (data.messages || []).forEach(function (m) { merge(m, true); });
          loop();
        },
        function (error) {
          if (error.status === 401) {
            newSessionAfterRejection().then(loop, function () { setTimeout(loop, 5000); });
            return;
          }
          errors += 1;
          setTimeout(loop, Math.min(30000, 1000 * Math.pow(2, errors)));
        }
      );
    })();
  }

  // -- sending ----------------------------------------------------------------------------------------------------

  function nextClientId() {
    state.counter += 1;
    var random = Math.random().toString(36).slice(2, 10);
    return "m" + Date.now().toString(36) + "-" + random + "-" + state.counter;
  }

  function sendText(text, label) {
    if (!text.trim()) {
      return;
    }
    var entry = insert({
      id: null,
      clientId: nextClientId(),
      dir: "in",
      text: text,
      sent: text,
      shown: label && label !== text ? label : null,
      pending: true
    });
    transmit(entry);
    return entry;
  }

  function transmit(entry) {
    entry.pending = true;
    updateMeta(entry);
    clearTimeout(entry.timer);
    ensureSession().then(function () {
      var frame = { type: "message", id: entry.clientId, text: entry.sent, lang: state.lang };
      if (wsSend(frame)) {
        entry.via = "ws";
        entry.timer = setTimeout(function () {
          if (entry.pending) {
            onError(entry, "network");
          }
        }, ACK_TIMEOUT_MS);
        return;
      }
      entry.via = "http";
      connect();
      showTyping(true);
      api("POST", "/api/webchat/messages?lang=" + state.lang, frame).then(httpAcked(entry), httpFailed(entry));
    }, function (error) {
      onError(entry, error.code, error.message);
    });
  }

  function onError(entry, code, message) {
    var text = t().errors[code] || message || t().errors.generic;
    if (!entry) {
      note(text);
      return;
    }
    clearTimeout(entry.timer);
    if (code === "too_long" || code === "empty") {
      // Nothing was stored: give the text back to edit.
      removeEntry(entry);
      if (!entry.upload && !input.value) {
        input.value = entry.sent;
        autosize();
      }
      note(text);
      return;
    }
    entry.pending = false;
    entry.failed = text;
    entry.retryable = !entry.upload && code !== "bad_frame";
    updateMeta(entry);
  }

  // A message or upload sent over HTTP: its ack confirms the bubble; without a socket, replies come by polling.
  function httpAcked(entry) {
    return function (ack) {
      showTyping(false);
      confirm(entry, ack.message_id, ack.text);
      if (!state.wsReady) {
        catchUp().catch(function () {});
      }
    };
  }

  function httpFailed(entry) {
    return function (error) {
      showTyping(false);
      onError(entry, error.code, error.message);
    };
  }

  function uploadScreenshot(file) {
    var entry = insert({ id: null, dir: "in", text: "[photo: " + file.name + "]", sent: null, pending: true, upload: true });
    ensureSession().then(function () {
      showTyping(true);
      return api("POST", "/api/webchat/attachments?lang=" + state.lang, file, file.type || "application/octet-stream");
    }).then(httpAcked(entry), httpFailed(entry));
  }

  // -- opening, closing, keys -------------------------------------------------------------------------------------

  function openPanel() {
    state.open = true;
    panel.hidden = false;
    root.classList.add("odw-open");
    bubble.setAttribute("aria-expanded", "true");
    state.unread = 0;
    updateBadge();
    input.focus();
    if (!state.historyLoaded) {
      if (!state.token) {
        setStatus(t().connecting);
      }
      ensureSession()
        .then(function (session) {
          setStatus("");
          connect();
          return session.resumed ? loadHistory() : (state.historyLoaded = true);
        })
        .catch(function (error) {
          setStatus(t().errors[error.code] || t().errors.network);
        });
    }
    scrollDown();
  }

  function closePanel() {
    state.open = false;
    panel.hidden = true;
    root.classList.remove("odw-open");
    bubble.setAttribute("aria-expanded", "false");
    updateBadge();
    bubble.focus();
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  bubble.addEventListener("click", function () {
    if (state.open) {
      closePanel();
    } else {
      openPanel();
    }
  });
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    }
  });
  input.addEventListener("keydown", function (event) {
    // isComposing: Enter also confirms a Chinese input-method candidate, which must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : submit();
    }
  });
  input.addEventListener("input", autosize);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  function submit() {
    var text = input.value;
    if (!text.trim()) {
      return;
    }
    input.value = "";
    autosize();
    sendText(text, null);
  }
  ticketsButton.addEventListener("click", function () {
    if (state.ticketsShown) {
      closeTickets();
    } else {
      openTicketList();
    }
  });
  humanButton.addEventListener("click", function () {
    sendText("/human", t().human);
  });
  langButton.addEventListener("click", function () {
    state.lang = state.lang === "zh" ? "en" : "zh";
    save("lang", state.lang);
    applyTexts();
    sendText("/lang " + state.lang, state.lang === "zh" ? "中文" : "English");
  });
  attachButton.addEventListener("click", function () {
    fileInput.click();
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) {
      uploadScreenshot(file);
    }
  });
  window.addEventListener("online", function () {
    if (state.token && !state.ws) {
      state.backoffMs = 1000;
      connect();
    }
  });

  applyTexts();
  document.body.appendChild(host);
  // A returning visitor is connected at once, so an agent's reply shows as unread even before they open the chat.
  if (state.token) {
    connect();
  }

  window.OmniDeskWidget = {
    open: openPanel,
    close: closePanel
  };
})();
