// CSV import mapping: a column's attribute key is shown only while the column is kept as
// an attribute (the key stays in the form either way; the server ignores it otherwise).
(function () {
  function sync(select) {
    const wrapper = document.querySelector('[data-attribute-key-field="' + select.id + '"]');
    if (wrapper) wrapper.hidden = select.value !== "attribute";
  }
  function syncAll() {
    document.querySelectorAll("[data-attribute-key-field]").forEach(function (wrapper) {
      const select = document.getElementById(wrapper.dataset.attributeKeyField);
      if (select) sync(select);
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select")) sync(event.target);
  });
  document.addEventListener("DOMContentLoaded", syncAll);
})();
