// The checkout card form: Stripe.js collects the card and confirms a SetupIntent,
// then the form posts only the SetupIntent id. Card numbers never reach this server.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("pay");
  var confirmed = false;
  function fail(message) {
    errors.textContent = message || "Your card could not be confirmed.";
    errors.hidden = false;
    button.disabled = false;
  }
  form.addEventListener("submit", function (event) {
    if (confirmed) { return; }
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) { fail(result.error.message); return; }
        form.elements.setup_intent.value = result.setupIntent.id;
        confirmed = true;
        form.submit();
      }, function () { fail(); });
  });
}());
