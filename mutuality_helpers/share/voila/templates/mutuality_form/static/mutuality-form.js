/* The worksheet page's one script (served by the form server, loaded by index.html.j2).

ipywidgets draws the forms but gives no say over ARIA, so this script does, from the
classes and ids the package writes (mutuality_helpers/fields.py, forms.py and
templates/html/forms.html.j2). Whenever the widgets change the page it:

- names every control by its question (aria-labelledby) and links its help, end labels
  and error (aria-describedby); marks a control with an error aria-invalid;
- exposes the state of toggles (aria-pressed) and of share sliders in words
  (aria-valuetext "You 30% / partner 70%");
- marks the page's main part and the form as landmarks, the feedback as a live region; after a refused save,
  moves focus to the first question with a problem;
- refuses, in the browser, text holding half of a character (a lone surrogate, as a
  broken emoji or a clipped paste leaves): such text cannot travel to the server (the
  kernel would keep the earlier text and say "Saved."), so the text box says why, and
  Save is stopped with a message until that part is retyped. Nothing is lost: the text
  stays in the box as typed.

- holds a click on the form's buttons until every value a control holds back has been
  sent (so Save saves what the controls show).

It adds no content a partner answers with and sends nothing anywhere. */
(function () {
  "use strict";

  var LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  var BROKEN_TEXT =
    "This text holds half of a character (character %N), as a broken emoji or a clipped " +
    "paste leaves. Please retype that part: it cannot be saved as it is.";
  var NOT_SAVED =
    "Nothing was saved yet: a text box holds half of a character (marked above). " +
    "Please retype that part, then save again.";
  var handled = typeof WeakSet === "function" ? new WeakSet() : null;

  function itemId(box) {
    for (var i = 0; i < box.classList.length; i++) {
      var name = box.classList[i];
      if (name.indexOf("mutuality-item-") === 0) {
        return name.slice("mutuality-item-".length);
      }
    }
    return null;
  }

  function ids() {
    var found = [];
    for (var i = 0; i < arguments.length; i++) {
      if (arguments[i] && document.getElementById(arguments[i])) {
        found.push(arguments[i]);
      }
    }
    return found.join(" ");
  }

  function set(el, name, value) {
    if (value === null || value === "") {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else if (el.getAttribute(name) !== value) {
      el.setAttribute(name, value);
    }
  }

  function brokenAt(text) {
    var m = LONE_SURROGATE.exec(text);
    return m ? m.index + 1 : 0;
  }

  function clientError(box, id) {
    var el = box.querySelector(".mutuality-client-error");
    if (!el) {
      el = document.createElement("p");
      el.className = "mutuality-client-error";
      el.id = "mutuality-client-error-" + id;
      el.setAttribute("role", "alert");
      // In the item's error line, whose room is kept: the page does not jump.
      var line = box.querySelector(".mutuality-error");
      line.appendChild(el);
    }
    return el;
  }

  function enhanceItem(box) {
    var id = itemId(box);
    if (!id) return;
    var question = "mutuality-q-" + id;
    var ends = box.querySelector(".mutuality-ends .widget-html-content");
    if (ends && !ends.id) ends.id = "mutuality-ends-" + id;
    var error = document.getElementById("mutuality-error-" + id);
    var client = box.querySelector(".mutuality-client-error");
    var invalid =
      (error && error.textContent.trim() !== "") || (client && client.textContent !== "");
    var described = ids(
      "mutuality-help-" + id,
      "mutuality-ends-" + id,
      "mutuality-count-" + id,
      "mutuality-error-" + id,
      client && client.textContent ? client.id : ""
    );

    var controls = box.querySelectorAll(".noUi-handle, textarea, select");
    controls.forEach(function (el) {
      set(el, "aria-labelledby", question);
      set(el, "aria-describedby", described);
      set(el, "aria-invalid", invalid ? "true" : null);
    });
    box.querySelectorAll(".widget-readout").forEach(function (el) {
      set(el, "aria-labelledby", question); // the typed-in value of a slider
    });
    if (box.classList.contains("mutuality-type-share")) {
      box.querySelectorAll(".noUi-handle").forEach(function (el) {
        var now = parseInt(el.getAttribute("aria-valuenow"), 10);
        if (!isNaN(now)) set(el, "aria-valuetext", "You " + now + "% / partner " + (100 - now) + "%");
      });
    }
    box.querySelectorAll(".widget-radio-box, .widget-hbox.mutuality-input-" + id).forEach(function (el) {
      set(el, "role", el.classList.contains("widget-radio-box") ? "radiogroup" : "group");
      set(el, "aria-labelledby", question);
      set(el, "aria-describedby", described);
    });
    box.querySelectorAll(".widget-radio-box input").forEach(function (el) {
      set(el, "aria-invalid", invalid ? "true" : null);
    });
    box.querySelectorAll(".mutuality-skip").forEach(function (el) {
      set(el, "aria-describedby", question); // "Not answered", for which question
    });
  }

  function enhance() {
    collectModels(); // known before the first click (they resolve a moment later)
    // Voila moves the rendered cells into its own shell: that panel is the page's main part.
    var cells = document.getElementById("rendered_cells");
    if (cells && !document.querySelector("main, [role='main']")) set(cells, "role", "main");
    document.querySelectorAll(".mutuality-form").forEach(function (form) {
      set(form, "role", "form");
      set(form, "aria-labelledby", "mutuality-title");
      form.querySelectorAll(".mutuality-item").forEach(enhanceItem);
      form.querySelectorAll("button.widget-toggle-button, .widget-toggle-button button, button.jupyter-button").forEach(function (el) {
        if (el.classList.contains("widget-toggle-button") || el.closest(".widget-toggle-button")) {
          set(el, "aria-pressed", el.classList.contains("mod-active") ? "true" : "false");
        }
      });
      form.querySelectorAll(".mutuality-week select").forEach(function (el) {
        var label = el.parentNode.querySelector("label");
        if (label && !label.id) label.id = "mutuality-week-label";
        set(el, "aria-labelledby", label ? label.id : null);
        if (!label) set(el, "aria-label", "Week");
      });
      form.querySelectorAll(".mutuality-feedback").forEach(function (el) {
        set(el, "aria-live", "polite");
        focusFirstProblem(form, el);
      });
    });
  }

  function focusFirstProblem(form, feedback) {
    var problem = feedback.querySelector(".mutuality-problem");
    if (!problem || !handled || handled.has(problem)) return;
    handled.add(problem);
    var boxes = form.querySelectorAll(".mutuality-item");
    for (var i = 0; i < boxes.length; i++) {
      var control = boxes[i].querySelector("[aria-invalid='true']");
      if (control) {
        control.focus();
        return;
      }
    }
    var week = form.querySelector(".mutuality-week select");
    if (week) week.focus();
  }

  function checkText(area) {
    var box = area.closest(".mutuality-item");
    if (!box) return 0;
    var at = brokenAt(area.value);
    var el = box.querySelector(".mutuality-client-error");
    if (at) {
      el = clientError(box, itemId(box));
      var text = BROKEN_TEXT.replace("%N", String(at));
      if (el.textContent !== text) el.textContent = text;
    } else if (el) {
      el.textContent = "";
    }
    enhanceItem(box);
    return at;
  }

  // Capture phase, before the widget's own handlers: broken text never goes to the kernel.
  ["input", "change", "keyup"].forEach(function (type) {
    document.addEventListener(
      type,
      function (event) {
        var area = event.target;
        if (!(area instanceof HTMLTextAreaElement) || !area.closest(".mutuality-form")) return;
        if (checkText(area)) event.stopImmediatePropagation();
      },
      true
    );
  });

  /* ipywidgets sends a control's newest value only once the kernel has answered the one
  before (it holds the rest back), but a button's click goes at once: a Save tapped right
  after moving a slider could reach the kernel first and save the value before. So a
  click on a form's button waits until no widget holds a value back, then goes. */
  var models = new Set(); // the page's widget models, as the widget manager resolves them
  var asked = new Set(); // the model ids already waited for (each is resolved once)
  function collectModels() {
    var manager = window.jupyterapp && window.jupyterapp.widgetManager;
    var pending = manager && manager._models; // ipywidgets' base manager: id -> Promise
    if (!pending) return;
    Object.keys(pending).forEach(function (id) {
      if (asked.has(id)) return;
      asked.add(id);
      Promise.resolve(pending[id]).then(function (model) {
        models.add(model);
      }, function () {});
    });
  }
  function holdsValueBack() {
    collectModels();
    var held = false;
    models.forEach(function (model) {
      if (model._msg_buffer) held = true;
    });
    return held;
  }
  var HOLD_LIMIT_MS = 10000; // a kernel that never answers: the click goes anyway
  var waiting = null; // the button whose click waits
  var releasing = false; // the held click going on its way
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest && event.target.closest(".mutuality-form button");
      if (!button || releasing) return;
      if (!waiting && !holdsValueBack()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      if (waiting) return; // a second tap while the first waits is the same click
      waiting = button;
      var started = Date.now();
      (function go() {
        if (holdsValueBack() && Date.now() - started < HOLD_LIMIT_MS) {
          window.setTimeout(go, 20);
          return;
        }
        waiting = null;
        releasing = true;
        try {
          button.click();
        } finally {
          releasing = false;
        }
      })();
    },
    true
  );

  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest && event.target.closest(".mutuality-save, .mutuality-replace");
      var form = button && button.closest(".mutuality-form");
      if (!form) return;
      var broken = null;
      form.querySelectorAll("textarea").forEach(function (area) {
        if (!broken && checkText(area)) broken = area;
      });
      var note = form.querySelector(".mutuality-client-feedback");
      if (!broken) {
        if (note) note.textContent = "";
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      if (!note) {
        note = document.createElement("p");
        note.className = "mutuality-client-feedback";
        note.setAttribute("role", "alert");
        var feedback = form.querySelector(".mutuality-feedback");
        feedback.parentNode.insertBefore(note, feedback);
      }
      note.textContent = "";
      note.textContent = NOT_SAVED;
      broken.focus();
    },
    true
  );

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(function () {
      scheduled = false;
      enhance();
    });
  }

  function start() {
    new MutationObserver(schedule).observe(document.body, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["class", "aria-valuenow"],
    });
    schedule();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
