/* The tracker's queue stub, in a file because the page allows no inline
 * script: seula(...) works before seula.js has loaded. */
window.seula=window.seula||function(){(seula.q=seula.q||[]).push(arguments)};
