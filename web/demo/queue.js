/* The tracker's queue stub: seula(...) works before seula.js has loaded. */
window.seula = window.seula || function () { (window.seula.q = window.seula.q || []).push(arguments); };
