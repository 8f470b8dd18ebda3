/* The demo site's own script: a tiny pushState router and the buttons. */
(function () {
	'use strict';

	function show(path) {
		var pagePath = path.split('?')[0];
		var sections = document.querySelectorAll('[data-page]');
		var found = false;
		for (var i = 0; i < sections.length; i++) {
			var match = sections[i].getAttribute('data-page') === pagePath;
			sections[i].hidden = !match;
			if (match) {
				found = true;
				document.title = sections[i].querySelector('h1').textContent + ' – Kahvila Seula';
			}
		}
		if (!found) sections[0].hidden = false;
	}

	document.addEventListener('click', function (e) {
		var a = e.target.closest('a[data-route]');
		if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
		e.preventDefault();
		var to = a.getAttribute('data-route');
		show(to);
		history.pushState({}, '', to);
		document.getElementById('page').focus();
	});
	window.addEventListener('popstate', function () { show(location.pathname + location.search); });

	document.getElementById('signup').addEventListener('click', function () {
		seula('event', 'signup', {plan: 'pro', source: 'menu'});
		document.getElementById('signup-done').textContent = 'Thank you! (a custom event was sent)';
	});

	function showCookies() {
		document.getElementById('cookies').textContent = document.cookie || '(none)';
	}
	document.getElementById('allow').addEventListener('click', function () {
		seula('consent', {analytics: true});
		showCookies();
	});
	document.getElementById('deny').addEventListener('click', function () {
		seula('consent', {analytics: false});
		showCookies();
	});
	show(location.pathname + location.search);
	showCookies();
})();
