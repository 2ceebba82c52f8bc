/*
 * Bulk label QA: the review grid's behaviour, shared by both reviewer pages.
 *   - the Ground Truth worker page (worker_task.liquid.html), where bulkqa.worker_page inlines this file;
 *   - the self-hosted reviewer page (review/index.html), which loads it from /assets/grid.js.
 *
 * window.bqGrid.mount(root) -> grid
 *   root holds [data-tile] tiles, each with one <img data-zoom> and one box: a <crowd-checkbox>
 *   (Ground Truth) or a native <input type="checkbox"> (self-hosted). Optional: [data-qa-label] (the
 *   label, repeated in the enlarged view) and [data-qa-count] (the live "N of M marked wrong" counter).
 *   Unchecked tiles turn red; a click on an image, or Z on a focused tile, opens the enlarged view
 *   (Left/Right move, Esc closes, Tab stays inside it). Tab and Space are the boxes' own.
 *   One grid is mounted at a time: mounting the next screen's root first destroys the previous grid
 *   (its listeners and observer are removed); the enlarged view and the document/window listeners are
 *   created once and serve whichever grid is mounted.
 *   grid.refresh(), grid.wrongCount(), grid.destroy().
 *
 * Rules: values are read with textContent/dataset/properties only and written with textContent, never
 * innerHTML; no inline event handlers. Liquid-safe: never write "{" doubled or followed by "%" or "#" in
 * this file (Ground Truth parses the page as Liquid).
 */
(function () {
  "use strict";
  if (window.bqGrid) return;

  var BOX = "crowd-checkbox, input[type=checkbox]";
  var active = null; /* the mounted grid */
  var view = null; /* the enlarged view, created on first use */

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }
  function button(cls, text, action) {
    var b = el("button", cls, text);
    b.type = "button";
    b.setAttribute("data-action", action);
    return b;
  }
  function isChecked(cb) {
    return typeof cb.checked === "boolean" ? cb.checked : cb.hasAttribute("checked");
  }
  function setChecked(cb, value) {
    cb.checked = value;
    /* crowd-checkbox reflects its state in the attribute; a native box keeps its default there */
    if (cb.tagName !== "INPUT" && cb.hasAttribute("checked") !== value) cb.toggleAttribute("checked", value);
  }
  function closestOf(node, selector) {
    return node && node.closest ? node.closest(selector) : null;
  }

  /* ---- the enlarged view: one per page, shared by every grid mounted on it ---- */
  function ensureView() {
    if (view) return view;
    var lb = el("div", "bq-lb");
    lb.hidden = true;
    lb.setAttribute("role", "dialog");
    lb.setAttribute("aria-modal", "true");
    lb.setAttribute("aria-label", "Enlarged image");
    var stage = el("div", "bq-lb-stage");
    var big = document.createElement("img");
    big.alt = "";
    stage.appendChild(big);
    var bar = el("div", "bq-lb-bar");
    var question = el("p", "bq-lb-label", "Labelled ");
    var label = el("b", "");
    question.appendChild(label);
    var pos = el("span", "bq-lb-pos");
    var state = el("span", "bq-lb-state");
    var prev = button("bq-lb-prev", "\u2190 Previous", "prev");
    var toggle = button("bq-lb-toggle", "Mark wrong", "toggle");
    var next = button("bq-lb-next", "Next \u2192", "next");
    var close = button("bq-lb-close", "Close", "close");
    var hint = el("span", "bq-lb-hint", "\u2190 \u2192 move between images \u00b7 Esc closes");
    [question, pos, state, prev, toggle, next, close, hint].forEach(function (n) { bar.appendChild(n); });
    lb.appendChild(stage);
    lb.appendChild(bar);
    document.body.appendChild(lb);

    view = { lb: lb, stage: stage, big: big, label: label, pos: pos, state: state,
             toggle: toggle, stops: [prev, toggle, next, close] };

    /* Scale the picture to fill the screen (small images too), keeping its proportions. */
    view.fit = function () {
      if (lb.hidden || !big.naturalWidth) return;
      var scale = Math.min((stage.clientWidth - 48) / big.naturalWidth,
                           (stage.clientHeight - 48) / big.naturalHeight, 6);
      big.style.width = Math.max(1, Math.round(big.naturalWidth * scale)) + "px";
      big.style.height = Math.max(1, Math.round(big.naturalHeight * scale)) + "px";
    };
    big.addEventListener("load", view.fit);
    window.addEventListener("resize", view.fit);

    lb.addEventListener("click", function (event) {
      var grid = active;
      var action = closestOf(event.target, "[data-action]");
      if (!grid) return;
      if (!action) {
        if (event.target === stage) grid.closeView(true); /* click on the dark backdrop */
        return;
      }
      var what = action.getAttribute("data-action");
      if (what === "prev") grid.show(grid.current - 1);
      else if (what === "next") grid.show(grid.current + 1);
      else if (what === "close") grid.closeView(true);
      else if (what === "toggle") grid.toggle(grid.current);
    });

    document.addEventListener("keydown", function (event) {
      var grid = active;
      if (!grid || event.altKey || event.ctrlKey || event.metaKey) return;
      if (!lb.hidden) {
        if (event.key === "Escape" || event.key === "Esc") { event.preventDefault(); grid.closeView(true); }
        else if (event.key === "ArrowLeft") { event.preventDefault(); grid.show(grid.current - 1); }
        else if (event.key === "ArrowRight") { event.preventDefault(); grid.show(grid.current + 1); }
        else if (event.key === "Tab") {
          /* keep focus inside the dialog */
          var stops = view.stops;
          var at = stops.indexOf(document.activeElement);
          event.preventDefault();
          stops[(at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length].focus();
        }
        return;
      }
      if (event.key === "z" || event.key === "Z") {
        var target = event.target;
        if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox"))) return;
        var tile = closestOf(document.activeElement, "[data-tile]");
        if (tile && grid.root.contains(tile)) { event.preventDefault(); grid.open(grid.tiles.indexOf(tile)); }
      }
    });
    return view;
  }

  /* ---- one grid: the tiles of one screen ---- */
  function Grid(root) {
    var self = this;
    this.root = root;
    this.tiles = Array.prototype.slice.call(root.querySelectorAll("[data-tile]"));
    this.counter = root.querySelector("[data-qa-count]");
    this.current = -1; /* index of the tile shown enlarged, -1 when closed */
    this.lastFocus = null;
    this.pending = false;
    this.alive = true;
    this.listeners = [];

    function listen(target, type, fn) {
      target.addEventListener(type, fn);
      self.listeners.push([target, type, fn]);
    }
    /* crowd-checkbox's events are not documented: listen broadly, re-read the state now (the box
       has handled the event by the time it bubbles here) and once more after other handlers ran. */
    var onAny = function () { self.refresh(); self.refreshSoon(); };
    ["change", "iron-change", "click", "keyup"].forEach(function (type) { listen(root, type, onAny); });
    listen(root, "click", function (event) {
      var img = closestOf(event.target, "[data-zoom]");
      if (img && root.contains(img)) self.open(self.tiles.indexOf(img.closest("[data-tile]")));
    });
    this.observer = null;
    if (window.MutationObserver) {
      this.observer = new MutationObserver(function () { self.refreshSoon(); });
      this.observer.observe(root, { attributes: true, subtree: true, attributeFilter: ["checked"] });
    }
    /* images that fail to load */
    this.tiles.forEach(function (tile) {
      var img = tile.querySelector("img");
      if (!img) return;
      var broken = function () { tile.classList.add("is-broken"); };
      listen(img, "error", broken);
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) broken();
    });
    if (window.customElements && root.querySelector("crowd-checkbox") && !window.customElements.get("crowd-checkbox")) {
      window.customElements.whenDefined("crowd-checkbox").then(function () { if (self.alive) self.refresh(); });
    }
    this.refresh();
  }

  Grid.prototype.box = function (index) {
    var tile = this.tiles[index];
    return tile ? tile.querySelector(BOX) : null;
  };

  Grid.prototype.wrongCount = function () {
    var self = this;
    return this.tiles.filter(function (tile, i) { var cb = self.box(i); return cb && !isChecked(cb); }).length;
  };

  /* live state: red tiles and the "N of M marked wrong" counter */
  Grid.prototype.refresh = function () {
    if (!this.alive) return;
    var self = this;
    var wrong = 0;
    this.tiles.forEach(function (tile, i) {
      var cb = self.box(i);
      var bad = !!cb && !isChecked(cb);
      if (bad) wrong += 1;
      tile.classList.toggle("is-wrong", bad);
    });
    if (this.counter) {
      this.counter.textContent = wrong + " of " + this.tiles.length + " marked wrong";
      this.counter.classList.toggle("has-wrong", wrong > 0);
    }
    if (this.current >= 0) this.showState();
  };

  Grid.prototype.refreshSoon = function () {
    var self = this;
    if (this.pending) return;
    this.pending = true;
    setTimeout(function () { self.pending = false; self.refresh(); }, 0);
  };

  Grid.prototype.toggle = function (index) {
    var cb = this.box(index);
    if (!cb) return;
    setChecked(cb, !isChecked(cb));
    this.refresh();
  };

  Grid.prototype.showState = function () {
    var cb = this.box(this.current);
    var wrong = !!cb && !isChecked(cb);
    view.lb.classList.toggle("is-wrong", wrong);
    view.state.textContent = wrong ? "Marked wrong" : "Marked correct";
    view.toggle.textContent = wrong ? "Mark correct" : "Mark wrong";
  };

  Grid.prototype.show = function (index) {
    var total = this.tiles.length;
    if (!total) return;
    this.current = (index + total) % total;
    var img = this.tiles[this.current].querySelector("img");
    var big = view.big;
    big.style.width = big.style.height = "";
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    view.pos.textContent = "Image " + (this.current + 1) + " of " + total;
    this.showState();
    if (big.complete) view.fit();
  };

  Grid.prototype.open = function (index) {
    if (index < 0 || index >= this.tiles.length) return;
    ensureView();
    var labelSource = this.root.querySelector("[data-qa-label]");
    view.label.textContent = labelSource ? labelSource.textContent : "";
    if (view.lb.hidden) this.lastFocus = this.box(index);
    view.lb.hidden = false;
    document.documentElement.style.overflow = "hidden";
    this.show(index);
    view.toggle.focus();
  };

  Grid.prototype.closeView = function (restoreFocus) {
    if (!view || view.lb.hidden) return;
    view.lb.hidden = true;
    view.big.removeAttribute("src");
    document.documentElement.style.overflow = "";
    var target = this.current >= 0 ? this.box(this.current) : this.lastFocus;
    this.current = -1;
    if (restoreFocus && target && target.focus) target.focus();
  };

  Grid.prototype.destroy = function () {
    if (!this.alive) return;
    this.closeView(false);
    this.listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2]); });
    this.listeners = [];
    if (this.observer) this.observer.disconnect();
    this.alive = false;
    if (active === this) active = null;
  };

  function mount(root) {
    if (!root) throw new Error("bqGrid.mount: no root element");
    if (active) active.destroy();
    ensureView();
    active = new Grid(root);
    return active;
  }

  window.bqGrid = Object.freeze({
    mount: mount,
    current: function () { return active; },
    isChecked: isChecked
  });
})();
