/**
 * API tokens: list (never a secret), create, revoke. A created token's
 * secret is shown once, with a copy button, and removed from the page when
 * the operator dismisses it; the API never returns it again.
 */
import { api } from "../api.js";
import { h } from "../dom.js";
import {
  busy,
  checkedValues,
  checkGroup,
  clearErrors,
  field,
  pageHeader,
  showErrors,
  statusLine,
  table,
} from "../ui.js";

/**
 * @typedef {{ id: string, name: string, tokenPrefix: string, scopes: string[], servers: string[] | null, expiresAt: string | null, createdAt: string }} Token
 */

/**
 * The panel that shows a new secret once.
 * @param {string} name
 * @param {string} secret
 * @param {() => void} onDone
 */
function secretPanel(name, secret, onDone) {
  const input = h("input", {
    id: "new-token-secret",
    readonly: true,
    value: secret,
    "aria-describedby": "new-token-note",
  });
  const copied = h("span", { role: "status", "aria-live": "polite", class: "small" });
  const copy = h("button", { type: "button", class: "primary" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      copied.textContent = "Copied to the clipboard.";
    } catch {
      input.select();
      copied.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  });
  const done = h("button", { type: "button" }, "Done, I have stored it");
  const panel = h(
    "section",
    { class: "card secret-once", "aria-labelledby": "new-token-title" },
    h("h2", { id: "new-token-title" }, `Token ${name} created`),
    h(
      "p",
      { id: "new-token-note" },
      "Copy the secret now. It is shown only this once; the gateway keeps only its hash.",
    ),
    h("label", { for: input.id }, "Secret"),
    h("div", { class: "row" }, input, copy, copied),
    h("p", null, done),
  );
  done.addEventListener("click", () => {
    input.value = "";
    panel.remove();
    onDone();
  });
  return panel;
}

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const status = statusLine();
  const secretHost = h("div");
  const listHost = h("div", { class: "card" });
  const formHost = h("div");

  const load = async () => {
    /** @type {[Token[], Array<{ name: string }>]} */
    const [tokens, servers] = await Promise.all([api("GET", "/tokens"), api("GET", "/servers")]);
    const rows = tokens.map((token) => {
      const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
      revoke.addEventListener("click", () => {
        if (!confirm(`Revoke token ${token.name}? Clients using it stop working within seconds.`)) return;
        void busy(revoke, "Revoking…", async () => {
          try {
            await api("DELETE", `/tokens/${token.id}`);
            status.say(`${token.name} revoked.`);
            await load();
          } catch (err) {
            status.say(`${token.name} was not revoked: ${err instanceof Error ? err.message : err}`, true);
          }
        });
      });
      const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();
      return h(
        "tr",
        { "data-token": token.name },
        h("td", null, h("strong", null, token.name)),
        h("td", { class: "mono" }, `${token.tokenPrefix}…`),
        h("td", null, token.scopes.join(", ")),
        h("td", null, token.servers ? token.servers.join(", ") : h("span", { class: "muted" }, "all")),
        h(
          "td",
          null,
          token.expiresAt ? new Date(token.expiresAt).toLocaleString() : "never",
          expired ? h("span", { class: "badge off" }, " expired") : null,
        ),
        h("td", null, new Date(token.createdAt).toLocaleString()),
        h("td", null, revoke),
      );
    });
    listHost.replaceChildren(
      table(
        "API tokens",
        ["Name", "Starts with", "Scopes", "Servers", "Expires", "Created", "Actions"],
        rows,
        "No tokens yet.",
      ),
    );
    formHost.replaceChildren(createForm(servers.map((s) => s.name)));
  };

  const createForm = (/** @type {string[]} */ serverNames) => {
    const form = h(
      "form",
      { class: "card", novalidate: true, "aria-labelledby": "add-token" },
      h("h2", { id: "add-token" }, "Create a token"),
      h(
        "div",
        { class: "fields" },
        field("name", "Name", h("input", { name: "name", required: true, placeholder: "ci-agent" })),
        checkGroup("scopes", "Scopes", ["mcp", "admin"], ["mcp"], "token-scope"),
        serverNames.length > 0
          ? checkGroup("servers", "Servers (none checked: all, and /mcp)", serverNames, [], "token-server")
          : null,
        field("expiresAt", "Expires", h("input", { name: "expiresAt", type: "datetime-local" }), {
          help: "Empty: never",
        }),
      ),
      h("button", { type: "submit", class: "primary" }, "Create token"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const servers = checkedValues(form, "token-server");
      const expires = String(data.get("expiresAt") ?? "");
      const body = {
        name: String(data.get("name") ?? "").trim(),
        scopes: checkedValues(form, "token-scope"),
        ...(servers.length > 0 && { servers }),
        ...(expires && { expiresAt: new Date(expires).toISOString() }),
      };
      const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
      await busy(button, "Creating…", async () => {
        try {
          /** @type {Token & { token: string }} */
          const created = await api("POST", "/tokens", body);
          clearErrors(form);
          form.reset();
          secretHost.replaceChildren(
            secretPanel(created.name, created.token, () =>
              status.say(`The secret of ${created.name} is gone from this page.`),
            ),
          );
          /** @type {HTMLElement | null} */ (secretHost.querySelector("#new-token-secret"))?.focus();
          await load();
        } catch (err) {
          showErrors(form, err);
        }
      });
    });
    return form;
  };

  root.append(
    pageHeader(
      "API tokens",
      "Tokens for MCP clients (scope mcp) and automation (scope admin). Secrets are stored only as hashes.",
    ),
    status.el,
    secretHost,
    listHost,
    formHost,
  );
  await load();
  return () => {
    secretHost.replaceChildren();
  };
}
