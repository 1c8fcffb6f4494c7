/**
 * The console's entry: draws the page the address names into <main>, and
 * moves between pages without reloading (History API). Each page module
 * renders from the admin REST API and returns a function that stops its
 * timers when another page is shown.
 */
import { signOut } from "./api.js";
import { h } from "./dom.js";
import { render as backends } from "./pages/backends.js";
import { render as dashboard } from "./pages/dashboard.js";
import { render as plugins } from "./pages/plugins.js";
import { render as servers } from "./pages/servers.js";
import { render as spans } from "./pages/spans.js";
import { render as tokens } from "./pages/tokens.js";

/** @type {Record<string, (root: HTMLElement) => Promise<() => void>>} */
const PAGES = { "": dashboard, backends, servers, tokens, plugins, spans };

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
/** @type {(() => void) | null} */
let stop = null;
let generation = 0;

/** The page the address names. */
function pageOf(/** @type {string} */ pathname) {
  const page = pathname.replace(/^\/admin\/?/, "").replace(/\/$/, "");
  return page in PAGES ? page : "";
}

/** @param {string} page */
async function show(page) {
  stop?.();
  stop = null;
  const mine = ++generation;
  main.replaceChildren();
  main.dataset.page = page;
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (/** @type {HTMLElement} */ (link).dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const label = document.querySelector(`nav a[data-page="${page}"]`)?.textContent ?? "Console";
  document.title = `${label} · MCP gateway console`;
  try {
    const cleanup = await (PAGES[page] ?? dashboard)(main);
    if (mine === generation) stop = cleanup;
    else cleanup();
  } catch (err) {
    if (mine !== generation) return;
    main.append(
      h(
        "p",
        { class: "form-errors", role: "alert" },
        `This page could not be loaded: ${err instanceof Error ? err.message : err}`,
      ),
    );
  }
}

document.addEventListener("click", (event) => {
  const link = /** @type {HTMLElement | null} */ (
    event.target instanceof Element ? event.target.closest("a[data-page]") : null
  );
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  void show(link.dataset.page ?? "").then(() => main.focus());
});
window.addEventListener("popstate", () => void show(pageOf(location.pathname)));
document.getElementById("sign-out")?.addEventListener("click", () => void signOut());

void show(pageOf(location.pathname));
