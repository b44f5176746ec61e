// The definition builder: fit rules (attribute, operator, value; "all"/"any" groups),
// engagement points per event type with recency and caps, hand-raisers, threshold and
// minimum fit, drawn from the JSON field of the form and written back to it on every change.
// The JSON field stays the "advanced" view of the same data: editing it redraws the builder.
// The server validates; the builder only shapes the data. After each change it fills the
// preview form and fires "preview" on the body (the preview panel listens with htmx).
(function () {
  "use strict";

  let uid = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "class") node.className = attrs[key];
      else if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function nextId(prefix) {
    uid += 1;
    return "builder-" + prefix + "-" + uid;
  }

  function labelled(labelText, input, extraClass) {
    const id = input.id || nextId("f");
    input.id = id;
    return el("div", {class: extraClass || "col-auto"}, [
      el("label", {class: "form-label small mb-0", for: id, text: labelText}),
      input,
    ]);
  }

  function numberInput(value, attrs) {
    return el("input", Object.assign({
      type: "number", step: "1", class: "form-control form-control-sm",
      value: value === null || value === undefined ? "" : String(value),
    }, attrs || {}));
  }

  function whole(text) {
    if (text === "" || text === null || text === undefined) return null;
    const number = Number(text);
    return Number.isFinite(number) ? Math.trunc(number) : text;
  }

  function button(text, cls, onClick, label) {
    const node = el("button", {type: "button", class: "btn btn-sm " + cls, text: text, "aria-label": label});
    node.addEventListener("click", onClick);
    return node;
  }

  function datalist(id, values) {
    return el("datalist", {id: id}, values.map(function (value) {
      return el("option", {value: value});
    }));
  }

  function Builder(root, textarea, vocabulary) {
    this.root = root;
    this.textarea = textarea;
    this.vocabulary = vocabulary;
    this.status = document.getElementById("json-status");
    this.form = textarea.form;
    this.rules = null;
  }

  Builder.prototype.load = function () {
    let rules;
    try {
      rules = JSON.parse(this.textarea.value || "{}");
    } catch (error) {
      this.say("The JSON has an error (" + error.message + "); the builder shows the last rules that could be read.");
      return false;
    }
    if (rules === null || typeof rules !== "object" || Array.isArray(rules)) {
      this.say("The rules must be a JSON object; the builder shows the last rules that could be read.");
      return false;
    }
    this.say("");
    this.rules = rules;
    return true;
  };

  Builder.prototype.say = function (text) {
    if (this.status) this.status.textContent = text;
  };

  Builder.prototype.changed = function () {
    this.textarea.value = JSON.stringify(this.rules, null, 2);
    this.say("");
    refreshPreview(this.form);
  };

  Builder.prototype.redraw = function () {
    this.root.replaceChildren(this.draw());
  };

  Builder.prototype.draw = function () {
    const self = this;
    const rules = this.rules;
    const vocabulary = this.vocabulary;
    const attributesList = nextId("attributes");
    const eventsList = nextId("events");

    // Threshold, minimum fit, window.
    const threshold = numberInput(rules.threshold, {min: "0", required: true, "data-field": "threshold"});
    threshold.addEventListener("input", function () { rules.threshold = whole(threshold.value); self.changed(); });
    const minFit = numberInput(rules.min_fit, {"data-field": "min_fit", placeholder: "none"});
    minFit.addEventListener("input", function () { rules.min_fit = whole(minFit.value); self.changed(); });
    const recency = numberInput(rules.recency_days, {min: "1", "data-field": "recency_days", placeholder: "all time"});
    recency.addEventListener("input", function () { rules.recency_days = whole(recency.value); self.changed(); });
    const basics = el("fieldset", {class: "mb-3"}, [
      el("legend", {class: "h6", text: "Qualifies when"}),
      el("div", {class: "row g-2 align-items-end"}, [
        labelled("Score at least", threshold),
        labelled("Fit points at least", minFit),
        labelled("Count events of the last (days)", recency),
      ]),
    ]);

    // Fit rules.
    rules.fit = Array.isArray(rules.fit) ? rules.fit : [];
    const fitList = el("div", {class: "vstack gap-2", "data-testid": "fit-rules"});
    rules.fit.forEach(function (item, index) {
      fitList.appendChild(self.fitItem(item, index, attributesList));
    });
    const fit = el("fieldset", {class: "mb-3"}, [
      el("legend", {class: "h6", text: "Fit: points for who the lead is"}),
      fitList,
      el("div", {class: "mt-2 d-flex gap-2"}, [
        button("Add a fit rule", "btn-outline-primary", function () {
          rules.fit.push({points: 10, attribute: "", operator: "equals", value: ""});
          self.changed();
          self.redraw();
        }),
        button("Add a group of conditions", "btn-outline-secondary", function () {
          rules.fit.push({points: 10, all: [{attribute: "", operator: "equals", value: ""}]});
          self.changed();
          self.redraw();
        }),
      ]),
    ]);

    // Engagement.
    const engagement = rules.engagement && typeof rules.engagement === "object" && !Array.isArray(rules.engagement)
      ? rules.engagement : {};
    rules.engagement = engagement;
    const eventRows = el("div", {class: "vstack gap-2", "data-testid": "engagement-rules"});
    Object.keys(engagement).forEach(function (eventType) {
      eventRows.appendChild(self.eventRule(eventType, eventsList));
    });
    const engagementSet = el("fieldset", {class: "mb-3"}, [
      el("legend", {class: "h6", text: "Engagement: points per event"}),
      eventRows,
      el("div", {class: "mt-2"}, [
        button("Add event points", "btn-outline-primary", function () {
          let name = "event";
          let n = 1;
          while (Object.prototype.hasOwnProperty.call(engagement, name)) { n += 1; name = "event_" + n; }
          engagement[name] = 1;
          self.changed();
          self.redraw();
        }),
      ]),
    ]);

    // Hand-raisers.
    rules.hand_raisers = Array.isArray(rules.hand_raisers) ? rules.hand_raisers : [];
    const raisers = el("ul", {class: "list-unstyled d-flex flex-wrap gap-2 mb-2", "data-testid": "hand-raisers"});
    rules.hand_raisers.forEach(function (name, index) {
      raisers.appendChild(el("li", {class: "badge text-bg-light border d-flex align-items-center gap-1"}, [
        el("span", {text: String(name)}),
        button("×", "btn-link p-0 text-decoration-none", function () {
          rules.hand_raisers.splice(index, 1);
          self.changed();
          self.redraw();
        }, "Remove hand-raiser " + name),
      ]));
    });
    const raiserInput = el("input", {type: "text", class: "form-control form-control-sm", list: eventsList, maxlength: "64"});
    const addRaiser = function () {
      const name = raiserInput.value.trim();
      if (name && rules.hand_raisers.indexOf(name) < 0) {
        rules.hand_raisers.push(name);
        self.changed();
        self.redraw();
      }
    };
    raiserInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); addRaiser(); }
    });
    const requireFit = el("input", {type: "checkbox", class: "form-check-input", id: nextId("require"),
      checked: Boolean(rules.hand_raisers_require_min_fit)});
    requireFit.addEventListener("change", function () {
      rules.hand_raisers_require_min_fit = requireFit.checked;
      self.changed();
    });
    const handRaisers = el("fieldset", {class: "mb-3"}, [
      el("legend", {class: "h6", text: "Hand-raisers: events that qualify on their own"}),
      raisers,
      el("div", {class: "row g-2 align-items-end"}, [
        labelled("Event type", raiserInput),
        el("div", {class: "col-auto"}, [button("Add hand-raiser", "btn-outline-primary", addRaiser)]),
      ]),
      el("div", {class: "form-check mt-2"}, [
        requireFit,
        el("label", {class: "form-check-label", for: requireFit.id, text: "Hand-raisers also need the minimum fit"}),
      ]),
    ]);

    return el("div", {}, [
      datalist(attributesList, vocabulary.attributes || []),
      datalist(eventsList, vocabulary.event_types || []),
      basics, fit, engagementSet, handRaisers,
    ]);
  };

  Builder.prototype.fitItem = function (item, index, attributesList) {
    const self = this;
    const rules = this.rules;
    const points = numberInput(item.points, {"data-field": "points"});
    points.addEventListener("input", function () { item.points = whole(points.value); self.changed(); });
    const label = el("input", {type: "text", class: "form-control form-control-sm", value: item.label || "",
      maxlength: "200", placeholder: "generated from the rule"});
    label.addEventListener("input", function () {
      if (label.value.trim()) item.label = label.value; else delete item.label;
      self.changed();
    });
    const card = el("div", {class: "border rounded p-2", "data-testid": "fit-rule"}, [
      el("div", {class: "row g-2 align-items-end mb-2"}, [
        labelled("Points", points),
        labelled("Label (optional)", label, "col"),
        el("div", {class: "col-auto"}, [
          button("Remove", "btn-outline-danger", function () {
            rules.fit.splice(index, 1);
            self.changed();
            self.redraw();
          }, "Remove fit rule " + (index + 1)),
        ]),
      ]),
      this.node(item, 1, attributesList, null),
    ]);
    return card;
  };

  // A condition or a group. `holder` is the object carrying the node's keys (a fit item holds
  // its condition or group inline, next to points and label); `remove` drops it from its group.
  Builder.prototype.node = function (holder, depth, attributesList, remove) {
    const self = this;
    const kind = Array.isArray(holder.all) ? "all" : (Array.isArray(holder.any) ? "any" : null);
    if (kind) {
      const items = holder[kind];
      const select = el("select", {class: "form-select form-select-sm"}, [
        el("option", {value: "all", text: "all of these hold", selected: kind === "all"}),
        el("option", {value: "any", text: "any of these holds", selected: kind === "any"}),
      ]);
      select.addEventListener("change", function () {
        holder[select.value] = holder[kind];
        delete holder[kind];
        self.changed();
        self.redraw();
      });
      const children = el("div", {class: "vstack gap-2 ps-3 border-start"});
      items.forEach(function (child, childIndex) {
        children.appendChild(self.node(child, depth + 1, attributesList, function () {
          items.splice(childIndex, 1);
          self.changed();
          self.redraw();
        }));
      });
      const actions = [
        button("Add condition", "btn-outline-secondary", function () {
          items.push({attribute: "", operator: "equals", value: ""});
          self.changed();
          self.redraw();
        }),
      ];
      if (depth < (this.vocabulary.max_depth || 5)) {
        actions.push(button("Add group", "btn-outline-secondary", function () {
          items.push({any: [{attribute: "", operator: "equals", value: ""}]});
          self.changed();
          self.redraw();
        }));
      }
      if (remove) actions.push(button("Remove group", "btn-outline-danger", remove));
      return el("div", {class: "vstack gap-2", "data-testid": "fit-group"}, [
        el("div", {class: "row g-2 align-items-end"}, [labelled("When", select)]),
        children,
        el("div", {class: "d-flex gap-2"}, actions),
      ]);
    }
    return this.condition(holder, attributesList, remove);
  };

  Builder.prototype.condition = function (condition, attributesList, remove) {
    const self = this;
    const attribute = el("input", {type: "text", class: "form-control form-control-sm", list: attributesList,
      value: condition.attribute || "", maxlength: "64", "data-field": "attribute"});
    attribute.addEventListener("input", function () { condition.attribute = attribute.value.trim(); self.changed(); });
    const operator = el("select", {class: "form-select form-select-sm", "data-field": "operator"},
      (this.vocabulary.operators || []).map(function (option) {
        return el("option", {value: option.value, text: option.label, selected: option.value === condition.operator});
      }));
    const valueInput = el("input", {type: "text", class: "form-control form-control-sm", "data-field": "value",
      maxlength: "1000"});
    const valueCell = labelled("Value", valueInput, "col");
    const showValue = function () {
      const op = condition.operator;
      valueCell.hidden = op === "exists";
      valueInput.placeholder = op === "in" ? "comma-separated, e.g. US, GB, DE" : (op === "gte" || op === "lte" ? "a number" : "");
      valueInput.type = op === "gte" || op === "lte" ? "number" : "text";
      valueInput.step = "any";
      const value = condition.value;
      valueInput.value = Array.isArray(value) ? value.join(", ") : (value === undefined || value === null ? "" : String(value));
    };
    const readValue = function () {
      const op = condition.operator;
      const text = valueInput.value;
      if (op === "exists") delete condition.value;
      else if (op === "in") condition.value = text.split(",").map(function (part) { return part.trim(); }).filter(Boolean);
      else if (op === "gte" || op === "lte") condition.value = text === "" ? null : Number(text);
      else if (typeof condition.value === "boolean" && (text === "true" || text === "false")) condition.value = text === "true";
      else condition.value = text;
    };
    operator.addEventListener("change", function () {
      const before = condition.value;
      condition.operator = operator.value;
      if (operator.value === "exists") delete condition.value;
      else if (operator.value === "in") condition.value = Array.isArray(before) ? before : (before === undefined || before === null || before === "" ? [] : [before]);
      else if (Array.isArray(before)) condition.value = before.length ? before[0] : "";
      if ((operator.value === "gte" || operator.value === "lte") && typeof condition.value !== "number") {
        const number = Number(condition.value);
        condition.value = condition.value === "" || !Number.isFinite(number) ? null : number;
      }
      showValue();
      self.changed();
    });
    valueInput.addEventListener("input", function () { readValue(); self.changed(); });
    showValue();
    const cells = [
      labelled("Attribute", attribute, "col-sm-4"),
      labelled("Operator", operator, "col-sm-3"),
      valueCell,
    ];
    if (remove) cells.push(el("div", {class: "col-auto"}, [button("Remove", "btn-outline-danger", remove, "Remove condition")]));
    return el("div", {class: "row g-2 align-items-end", "data-testid": "fit-condition"}, cells);
  };

  Builder.prototype.eventRule = function (eventType, eventsList) {
    const self = this;
    const engagement = this.rules.engagement;
    let spec = engagement[eventType];
    const asObject = function () {
      if (spec === null || typeof spec !== "object") spec = {points: spec};
      return spec;
    };
    const store = function () {
      // The shorthand (points only) when there are no options, as the server writes it.
      if (spec && typeof spec === "object" && spec.recency_days == null && spec.max_points == null) {
        engagement[eventType] = spec.points;
      } else {
        engagement[eventType] = spec;
      }
      self.changed();
    };
    const current = spec !== null && typeof spec === "object" ? spec : {points: spec};
    const name = el("input", {type: "text", class: "form-control form-control-sm", list: eventsList,
      value: eventType, maxlength: "64", "data-field": "event_type"});
    name.addEventListener("change", function () {
      const renamed = name.value.trim();
      if (!renamed || renamed === eventType) { name.value = eventType; return; }
      if (Object.prototype.hasOwnProperty.call(engagement, renamed)) {
        name.setCustomValidity("This event type already has points.");
        name.reportValidity();
        name.value = eventType;
        name.setCustomValidity("");
        return;
      }
      // Keep the order of the rules: rebuild the object with the new key in place.
      const rebuilt = {};
      Object.keys(engagement).forEach(function (key) {
        rebuilt[key === eventType ? renamed : key] = engagement[key];
      });
      self.rules.engagement = rebuilt;
      self.changed();
      self.redraw();
    });
    const points = numberInput(current.points, {min: "0", "data-field": "event_points"});
    points.addEventListener("input", function () { asObject().points = whole(points.value); store(); });
    const recency = numberInput(current.recency_days, {min: "1", placeholder: "as above", "data-field": "event_recency"});
    recency.addEventListener("input", function () { asObject().recency_days = whole(recency.value); store(); });
    const cap = numberInput(current.max_points, {min: "0", placeholder: "no cap", "data-field": "event_cap"});
    cap.addEventListener("input", function () { asObject().max_points = whole(cap.value); store(); });
    return el("div", {class: "row g-2 align-items-end border rounded p-2 mx-0", "data-testid": "engagement-rule"}, [
      labelled("Event type", name, "col-sm-4"),
      labelled("Points each", points),
      labelled("Within (days)", recency),
      labelled("At most", cap),
      el("div", {class: "col-auto"}, [
        button("Remove", "btn-outline-danger", function () {
          delete engagement[eventType];
          self.changed();
          self.redraw();
        }, "Remove points for " + eventType),
      ]),
    ]);
  };

  function refreshPreview(form) {
    const preview = document.getElementById("preview-form");
    if (!preview || !form) return;
    const rules = form.querySelector("textarea[name=rules]");
    const stage = form.querySelector("[name=stage]");
    preview.querySelector("[data-preview-rules]").value = rules ? rules.value : "";
    if (stage) preview.querySelector("[data-preview-stage]").value = stage.value;
    document.body.dispatchEvent(new CustomEvent("preview"));
  }

  function start() {
    const root = document.getElementById("definition-builder");
    if (!root) return;
    const textarea = document.getElementById(root.dataset.builderFor);
    const data = document.getElementById(root.dataset.vocabulary);
    if (!textarea || !data) return;
    const builder = new Builder(root, textarea, JSON.parse(data.textContent));
    if (builder.load()) builder.redraw();
    textarea.addEventListener("change", function () {
      if (builder.load()) builder.redraw();
      refreshPreview(textarea.form);
    });
    const stage = textarea.form.querySelector("select[name=stage]");
    if (stage) {
      stage.addEventListener("change", function () {
        // The rules name their stage too: keep the two the same.
        if (builder.rules && Object.prototype.hasOwnProperty.call(builder.rules, "stage")) {
          builder.rules.stage = stage.value;
          builder.changed();
        } else {
          refreshPreview(textarea.form);
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
