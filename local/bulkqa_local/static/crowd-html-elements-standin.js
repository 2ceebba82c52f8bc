/*
 * crowd-html-elements-standin.js: a TEST STAND-IN for AWS's
 * https://assets.crowd.aws/crowd-html-elements.js, which cannot be loaded offline.
 *
 * It reproduces only the documented behaviour and output format of three elements
 * (docs/ground-truth.md#the-worker-page-liquid-crowd-form-and-crowd-checkbox, AWS docs sms-ui-template-crowd-{form,checkbox,button}):
 *   <crowd-form>      wraps the task; appends a submit <crowd-button> if it contains none; on
 *                     submit fires a cancelable "submit" event, then collects every named crowd
 *                     element into one answer object.
 *   <crowd-checkbox>  attributes name, value (default "on"), checked, disabled; a focusable box
 *                     (Space toggles); output {"<name>": {"<value>": true|false}}, unchecked
 *                     boxes included; boxes sharing a name share one object.
 *   <crowd-button>    form-action="submit" submits its crowd-form.
 * It is NOT AWS's implementation: no styling parity, no other elements, no posting to AWS.
 *
 * Test hook: on submit it sets window.__crowdAnswer = <answer object> and dispatches a
 * "crowd-submit" CustomEvent (detail = the answer, bubbles) on the crowd-form.
 */
(function () {
  "use strict";
  if (window.customElements.get("crowd-form")) {
    return;
  }

  function boolAttr(el, name) {
    return el.hasAttribute(name) && el.getAttribute(name) !== "false";
  }

  var CHECKBOX_CSS =
    ":host{display:inline-flex;align-items:center;gap:8px;cursor:pointer;user-select:none;" +
    "font:inherit;color:inherit;border-radius:6px;outline:none}" +
    ":host([disabled]){cursor:not-allowed;opacity:.5}" +
    ":host(:focus-visible) .box{box-shadow:0 0 0 3px rgba(37,99,235,.45)}" +
    ".box{flex:none;width:18px;height:18px;box-sizing:border-box;border:2px solid #6b7280;" +
    "border-radius:4px;background:#fff;display:inline-flex;align-items:center;" +
    "justify-content:center;transition:background .1s,border-color .1s}" +
    ":host([checked]) .box{background:#16a34a;border-color:#16a34a}" +
    ".box svg{width:12px;height:12px;visibility:hidden}" +
    ":host([checked]) .box svg{visibility:visible}";

  class CrowdCheckbox extends HTMLElement {
    static get observedAttributes() {
      return ["checked", "disabled"];
    }

    constructor() {
      super();
      var shadow = this.attachShadow({ mode: "open" });
      shadow.innerHTML =
        "<style>" + CHECKBOX_CSS + "</style>" +
        '<span class="box" part="box"><svg viewBox="0 0 12 12" aria-hidden="true">' +
        '<path d="M2 6.5l2.5 2.5L10 3.5" fill="none" stroke="#fff" stroke-width="2"/></svg></span>' +
        "<slot></slot>";
      this.addEventListener("click", this._onClick.bind(this));
      this.addEventListener("keydown", this._onKeydown.bind(this));
    }

    connectedCallback() {
      if (!this.hasAttribute("role")) this.setAttribute("role", "checkbox");
      this._sync();
    }

    attributeChangedCallback() {
      this._sync();
    }

    get name() {
      return this.getAttribute("name") || "";
    }

    get value() {
      var v = this.getAttribute("value");
      return v === null || v === "" ? "on" : v;
    }

    get checked() {
      return boolAttr(this, "checked");
    }

    set checked(v) {
      this.toggleAttribute("checked", Boolean(v));
    }

    get disabled() {
      return boolAttr(this, "disabled");
    }

    set disabled(v) {
      this.toggleAttribute("disabled", Boolean(v));
    }

    _sync() {
      this.setAttribute("aria-checked", String(this.checked));
      if (this.disabled) {
        this.setAttribute("aria-disabled", "true");
        this.setAttribute("tabindex", "-1");
      } else {
        this.removeAttribute("aria-disabled");
        this.setAttribute("tabindex", "0");
      }
    }

    _toggle() {
      if (this.disabled) return;
      this.checked = !this.checked;
      this.dispatchEvent(new Event("change", { bubbles: true }));
    }

    _onClick() {
      this._toggle();
    }

    _onKeydown(event) {
      if (event.key === " " || event.key === "Spacebar") {
        event.preventDefault(); // no page scroll
        this._toggle();
      }
    }
  }

  class CrowdButton extends HTMLElement {
    constructor() {
      super();
      var shadow = this.attachShadow({ mode: "open" });
      shadow.innerHTML =
        "<style>:host{display:inline-block}button{font:inherit;font-weight:600;" +
        "padding:9px 22px;border-radius:8px;border:1px solid #d1d5db;background:#fff;" +
        "color:#111827;cursor:pointer}" +
        ":host([variant=primary]) button{background:#ff9900;border-color:#ec7211;color:#111}" +
        "button:focus-visible{outline:3px solid rgba(37,99,235,.6);outline-offset:2px}" +
        "button:disabled{opacity:.55;cursor:default}</style>" +
        '<button type="button" part="button"><slot>Submit</slot></button>';
      this._button = shadow.querySelector("button");
      this._button.addEventListener("click", this._onClick.bind(this));
    }

    static get observedAttributes() {
      return ["disabled"];
    }

    attributeChangedCallback() {
      this._button.disabled = boolAttr(this, "disabled");
    }

    _onClick() {
      var form = this.closest("crowd-form");
      if (!form || this.hasAttribute("disabled")) return;
      var action = this.getAttribute("form-action");
      if (action === "submit") form.submit();
    }
  }

  class CrowdForm extends HTMLElement {
    connectedCallback() {
      var self = this;
      // Children are parsed after this element is connected: add the button once they exist.
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", function () {
          self._ensureSubmitButton();
        });
      } else {
        Promise.resolve().then(function () {
          self._ensureSubmitButton();
        });
      }
    }

    _ensureSubmitButton() {
      if (this.querySelector('crowd-button[form-action="submit"]')) return;
      var button = document.createElement("crowd-button");
      button.setAttribute("form-action", "submit");
      button.setAttribute("variant", "primary");
      button.textContent = "Submit";
      this.appendChild(button);
    }

    /* The answer object: every named crowd-checkbox, checked or not. */
    collect() {
      var answer = {};
      var elements = this.querySelectorAll("crowd-checkbox[name]");
      for (var i = 0; i < elements.length; i++) {
        var el = elements[i];
        var name = el.getAttribute("name");
        var value = el.getAttribute("value") || "on";
        if (!Object.prototype.hasOwnProperty.call(answer, name)) answer[name] = {};
        answer[name][value] = boolAttr(el, "checked");
      }
      return answer;
    }

    submit() {
      if (this.hasAttribute("submitted")) return;
      var before = new Event("submit", { bubbles: true, cancelable: true });
      if (!this.dispatchEvent(before)) return; // a template's onsubmit validation said no
      var answer = this.collect();
      this.setAttribute("submitted", "");
      var buttons = this.querySelectorAll('crowd-button[form-action="submit"]');
      for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute("disabled", "");
      window.__crowdAnswer = answer;
      this.dispatchEvent(new CustomEvent("crowd-submit", { detail: answer, bubbles: true }));
    }
  }

  window.customElements.define("crowd-checkbox", CrowdCheckbox);
  window.customElements.define("crowd-button", CrowdButton);
  window.customElements.define("crowd-form", CrowdForm);
})();
