// The demo page's buttons: each tracks its data-event with the product it names.
(() => {
  const status = document.getElementById('status');
  const tracked = ['page_view'];
  const show = (name) => {
    tracked.push(name);
    status.textContent = `Tracked: ${tracked.slice(-8).join(', ')}`;
  };
  for (const button of document.querySelectorAll('button[data-event]')) {
    button.addEventListener('click', () => {
      const { event, product, price, label } = button.dataset;
      const properties = {};
      if (product) properties.product = product;
      if (price) properties.price = Number(price);
      if (label) properties.label = label;
      window.activity.track(event, properties);
      show(event);
    });
  }
  document.getElementById('identify').addEventListener('submit', (submit) => {
    submit.preventDefault();
    const userId = document.getElementById('user-id').value.trim();
    if (!userId) return;
    window.activity.identify(userId);
    show(`identify (${userId})`);
  });
})();
