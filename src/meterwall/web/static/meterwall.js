/*! meterwall snippet: shows the meter banner or the gate from the decision API.
 *
 * No dependencies, no cookies of its own, no third parties. The server decides and the
 * server cuts: this script only asks the API what to show and shows it. It never
 * receives article text, so removing or blocking it reveals nothing.
 *
 * <script src="/_meterwall/meterwall.js" defer
 *         data-article-id="https://news.example/2026/11/story/"   (default: canonical link)
 *         data-access="metered" data-section="nation" data-tags="harbor,boats"
 *         data-body="#story-body"        (where the gate goes after; default [data-meterwall-body])
 *         data-api="https://paywall.example.com"></script>   (default: same origin)
 *
 * The answer is also dispatched as a "meterwall:decision" event on document.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var data = script.dataset;
  var api = (data.api || "").replace(/\/$/, "");

  function canonical() {
    var link = document.querySelector('link[rel="canonical"]');
    return (link && link.href) || location.href.split("#")[0];
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function link(cls, href, text) {
    var a = el("a", cls, text);
    a.href = href;
    return a;
  }

  function ensureStyles() {
    if (document.querySelector("link[data-meterwall-css]")) { return; }
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = api + "/_meterwall/meterwall.css";
    css.setAttribute("data-meterwall-css", "");
    document.head.appendChild(css);
  }

  function banner(answer) {
    var aside = el("aside", "mw-banner");
    aside.setAttribute("role", "status");
    aside.setAttribute("aria-label", "Your meter");
    aside.appendChild(el("span", "mw-count", answer.copy.banner));
    aside.appendChild(document.createTextNode(" › "));
    aside.appendChild(link("mw-link", answer.links.subscribe, answer.copy.banner_link));
    return aside;
  }

  function gate(answer) {
    var section = el("section", "mw-gate");
    section.setAttribute("data-outcome", answer.decision.outcome);
    section.setAttribute("aria-label", answer.copy.heading);
    section.appendChild(el("h2", "mw-heading", answer.copy.heading));
    section.appendChild(el("p", "mw-body", answer.copy.body));
    if (answer.decision.outcome === "regwall") {
      var register = el("p");
      register.appendChild(link("mw-button", answer.links.register, "Register for free"));
      section.appendChild(register);
      return section;
    }
    var offers = el("ul", "mw-offers");
    answer.offers.forEach(function (offer) {
      var item = el("li");
      item.appendChild(el("span", "mw-offer", offer.line));
      if (offer.trial) { item.appendChild(el("span", "mw-note", " " + offer.trial)); }
      offers.appendChild(item);
    });
    section.appendChild(offers);
    var cta = el("p");
    cta.appendChild(link("mw-button", answer.links.subscribe, answer.copy.subscribe_cta));
    section.appendChild(cta);
    section.appendChild(el("p", "mw-foot", answer.copy.offers_heading));
    return section;
  }

  function show(answer) {
    var body = document.querySelector(data.body || "[data-meterwall-body]");
    var anchor = body || document.querySelector("article, main") || document.body;
    if (answer.decision.outcome === "metered") {
      anchor.parentNode.insertBefore(banner(answer), anchor);
    } else if (!answer.decision.full_text) {
      anchor.parentNode.insertBefore(gate(answer), anchor.nextSibling);
    }
    document.dispatchEvent(new CustomEvent("meterwall:decision", { detail: answer }));
  }

  function ask() {
    var tags = (data.tags || "").split(",").map(function (t) { return t.trim(); })
      .filter(Boolean);
    var article = { id: data.articleId || canonical(), tags: tags };
    if (data.access) { article.access = data.access; }
    if (data.section) { article.section = data.section; }
    ensureStyles();
    fetch(api + "/api/v1/access", {
      method: "POST",
      credentials: api ? "include" : "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ article: article })
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer) { show(answer); }
    }).catch(function () { /* the server-side teaser stands on its own */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ask);
  } else {
    ask();
  }
}());
