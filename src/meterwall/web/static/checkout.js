// The checkout card form: on submit, the server checks any coupon code and makes a
// SetupIntent (none exists before), Stripe.js confirms the card with it, then the form
// posts only the SetupIntent id. Card numbers never reach this server.
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
  function intent() {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.dataset.intentUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) { return response.json(); });
  }
  form.addEventListener("submit", function (event) {
    if (confirmed) { return; }
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    intent().then(function (answer) {
      if (!answer.client_secret) { fail(answer.error); return; }
      return stripe.confirmCardSetup(answer.client_secret, { payment_method: { card: card } })
        .then(function (result) {
          if (result.error) { fail(result.error.message); return; }
          form.elements.setup_intent.value = result.setupIntent.id;
          confirmed = true;
          form.submit();
        });
    }).catch(function () { fail(); });
  });
}());
