// The Glance web console: plain JavaScript over the Images API v2, no framework, no build step.
// Views are chosen by the URL's hash: #/ (list), #/new (create and upload), #/image/<id>.
"use strict";

// Attributes Glance gives every image; the rest of an image record are its properties.
const BASE = new Set([
  "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo", "os_hash_value",
  "owner", "size", "virtual_size", "container_format", "disk_format", "created_at", "updated_at", "tags",
  "direct_url", "locations", "min_ram", "min_disk", "self", "file", "schema", "stores",
]);
const SHOWN = ["id", "status", "visibility", "protected", "os_hidden", "owner", "size", "virtual_size",
  "disk_format", "container_format", "checksum", "os_hash_algo", "os_hash_value", "min_disk", "min_ram",
  "created_at", "updated_at"];

const $ = (selector, root = document) => root.querySelector(selector);

// ---- identity: the API's own; a token, once given, goes in X-Auth-Token (kept for this tab only).
function token() { return sessionStorage.getItem("glance-token") || ""; }
function identityHeaders() { return token() ? { "X-Auth-Token": token() } : {}; }
function showIdentity() {
  $("#identity-state").textContent = token() ? "token set" : "no token";
}

// ---- API calls: JSON in and out; errors carry Glance's message.
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, { body, contentType = "application/json" } = {}) {
  const headers = { ...identityHeaders() };
  if (body !== undefined) headers["Content-Type"] = contentType;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!response.ok) {
    throw new ApiError(response.status, (json && json.message) || `${response.status} ${response.statusText}`);
  }
  return json;
}

function patch(id, operations) {
  return api("PATCH", `/v2/images/${id}`, { body: operations, contentType: "application/openstack-images-v2.1-json-patch" });
}

// ---- messages
function showError(error) {
  const box = $("#error");
  box.textContent = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error.message || error);
  box.hidden = false;
  $("#notice").hidden = true;
}
function notify(text) {
  $("#notice").textContent = text;
  $("#notice").hidden = false;
  $("#error").hidden = true;
}
function clearMessages() { $("#error").hidden = true; $("#notice").hidden = true; }

/** Runs an action, reporting its failure instead of throwing. */
async function attempt(action) {
  try { await action(); } catch (error) { showError(error); }
}

// ---- small rendering helpers
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}
function status(value) { return el("span", { class: `status status-${value}` }, value); }
function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
function when(timestamp) { return timestamp ? timestamp.replace("T", " ").replace("Z", "") : ""; }
function text(value) { return typeof value === "string" ? value : JSON.stringify(value); }

/** Asks in a modal dialog; resolves true for OK. */
function confirmAction(question) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = question;
  dialog.showModal();
  return new Promise(resolve => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

// ---- the list
const list = { pages: [], url: null };

function listUrl() {
  const form = $("#filters");
  const query = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (value !== "") query.append(key, value);
  }
  return `/v2/images?${query}`;
}

async function showList(url) {
  list.url = url;
  const page = await api("GET", url);
  const body = $("#images tbody");
  body.replaceChildren(...page.images.map(image => el("tr", { "data-id": image.id },
    el("td", {}, el("a", { href: `#/image/${image.id}` }, image.name || "(no name)")),
    el("td", {}, status(image.status)),
    el("td", {}, image.visibility),
    el("td", {}, bytes(image.size)),
    el("td", {}, image.disk_format || ""),
    el("td", { class: "value" }, image.owner || ""),
    el("td", {}, when(image.updated_at)))));
  $("#empty").hidden = page.images.length > 0;
  list.next = page.next || null;
  $("#next-page").disabled = !list.next;
  $("#prev-page").disabled = list.pages.length === 0;
  $("#page-number").textContent = `page ${list.pages.length + 1}`;
}

// ---- one image
let current = null;

async function showImage(id) {
  const image = await api("GET", `/v2/images/${id}`);
  current = image;
  $("#image-title").textContent = image.name || image.id;
  $("#attributes tbody").replaceChildren(...SHOWN.filter(key => key in image).map(key => el("tr", {},
    el("th", {}, key),
    el("td", { class: "value", "data-attribute": key }, key === "status" ? status(image.status)
      : key === "size" || key === "virtual_size" ? `${image[key] ?? ""}${image[key] ? ` (${bytes(image[key])})` : ""}`
        : text(image[key] ?? "")))));
  $("#edit-name").value = image.name || "";
  $("#edit-visibility").value = image.visibility;
  $("#edit-protected").checked = !!image.protected;

  $("#tags").replaceChildren(...image.tags.map(tag => el("li", { "data-tag": tag }, tag,
    el("button", { type: "button", title: `Remove tag ${tag}`, onclick: () => attempt(async () => {
      await api("DELETE", `/v2/images/${id}/tags/${encodeURIComponent(tag)}`);
      await showImage(id);
    }) }, "×"))));

  const properties = Object.keys(image).filter(key => !BASE.has(key)).sort();
  $("#properties tbody").replaceChildren(...properties.map(key => el("tr", { "data-property": key },
    el("td", { class: "value" }, key),
    el("td", { class: "value" }, text(image[key])),
    el("td", {}, el("button", { type: "button", onclick: () => attempt(async () => {
      await patch(id, [{ op: "remove", path: `/${key}` }]);
      notify(`Removed ${key}.`);
      await showImage(id);
    }) }, "Remove")))));

  const download = $("#download");
  download.href = `/v2/images/${id}/file`;
  download.hidden = !image.size && image.status !== "active";
  $("#deactivate").disabled = image.status !== "active";
  $("#reactivate").disabled = image.status !== "deactivated";

  // The rest of the page: each part on its own, so one refused call does not hide the others.
  await Promise.all([typedProperties(id), members(id), tasks(id)]);
}

async function typedProperties(id) {
  const body = $("#typed-properties tbody");
  try {
    const { properties } = await api("GET", `/v2/images/${id}/properties`);
    body.replaceChildren(...properties.map(p => el("tr", { "data-typed": p.name },
      el("td", { class: "value" }, p.name), el("td", { class: "value" }, text(p.value)), el("td", {}, p.type),
      el("td", {}, p.visibility), el("td", {}, String(p.protected)), el("td", { class: "value" }, p.owner || ""),
      el("td", {}, p.description || ""), el("td", {}, when(p.updated_at)))));
    $("#typed-empty").hidden = properties.length > 0;
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted" }, error.message)));
  }
}

async function members(id) {
  const body = $("#members tbody");
  if (current.visibility !== "shared") {
    // Only shared images have members (Glance answers 403 otherwise): say so without asking.
    body.replaceChildren();
    $("#members-empty").textContent = `Not shared: the image is ${current.visibility}.`;
    $("#members-empty").hidden = false;
    return;
  }
  try {
    const { members } = await api("GET", `/v2/images/${id}/members`);
    body.replaceChildren(...members.map(m => el("tr", {},
      el("td", { class: "value" }, m.member_id), el("td", {}, status(m.status)),
      el("td", {}, when(m.created_at)), el("td", {}, when(m.updated_at)))));
    $("#members-empty").textContent = "No members yet.";
    $("#members-empty").hidden = members.length > 0;
  } catch (error) {
    body.replaceChildren();
    $("#members-empty").textContent = error.message;
    $("#members-empty").hidden = false;
  }
}

/** An import task's progress, where the task reports it. */
function progressOf(task) {
  // The service's import progress: "progress": {"bytes_done", "bytes_total" (null when unknown)}.
  const p = task.progress || {};
  const done = p.bytes_done;
  const total = p.bytes_total;
  if (done === undefined) return task.status === "success" ? "done" : "";
  if (!total) return bytes(done);
  return el("span", {}, el("progress", { max: String(total), value: String(done) }), ` ${Math.floor(100 * done / total)}%`);
}

async function tasks(id) {
  const body = $("#tasks tbody");
  try {
    const { tasks } = await api("GET", `/v2/images/${id}/tasks`);
    body.replaceChildren(...tasks.map(t => el("tr", {},
      el("td", { class: "value" }, t.id), el("td", {}, t.type), el("td", {}, status(t.status)),
      el("td", {}, progressOf(t)), el("td", {}, t.message || ""), el("td", {}, when(t.updated_at)))));
    $("#tasks-empty").hidden = tasks.length > 0;
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, error.message)));
  }
}

// ---- create and upload
/**
 * Streams the file to /v2/images/{id}/file. XMLHttpRequest, because fetch reports no upload
 * progress; the browser reads the file from disk as it sends, and the service streams it to storage.
 */
function upload(id, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `/v2/images/${id}/file`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    for (const [key, value] of Object.entries(identityHeaders())) xhr.setRequestHeader(key, value);
    xhr.upload.addEventListener("progress", e => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        let message = `${xhr.status} ${xhr.statusText}`;
        try { message = JSON.parse(xhr.responseText).message || message; } catch { /* not JSON */ }
        reject(new ApiError(xhr.status, message));
      }
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed (connection lost).")));
    xhr.send(file);
  });
}

async function create(form) {
  const data = new FormData(form);
  const file = data.get("file");
  const image = await api("POST", "/v2/images", { body: {
    name: data.get("name"), disk_format: data.get("disk_format"),
    container_format: data.get("container_format"), visibility: data.get("visibility"),
  } });
  $("#upload").hidden = !(file && file.size > 0);
  $("#upload-open").hidden = true;
  if (file && file.size > 0) {
    $("#upload-progress").value = 0;
    $("#upload-name").textContent = file.name;
    const bar = $("#upload-progress");
    await upload(image.id, file, (loaded, total) => {
      const percent = Math.floor(100 * loaded / total);
      bar.value = percent;
      $("#upload-percent").textContent = `${percent}%`;
      $("#upload-bytes").textContent = `${bytes(loaded)} of ${bytes(total)}`;
    });
    notify(`Created ${image.name} and uploaded ${bytes(file.size)}.`);
  } else {
    notify(`Created ${image.name} (no data yet).`);
  }
  return image;
}

// ---- routing
async function route() {
  const hash = location.hash || "#/";
  for (const view of ["list", "new", "image"]) $(`#${view}-view`).hidden = true;
  const image = hash.match(/^#\/image\/([^/]+)$/);
  if (image) {
    $("#image-view").hidden = false;
    await attempt(() => showImage(image[1]));
  } else if (hash === "#/new") {
    $("#new-view").hidden = false;
    $("#upload").hidden = true;
  } else {
    $("#list-view").hidden = false;
    list.pages = [];
    await attempt(() => showList(listUrl()));
  }
  document.body.dataset.view = image ? "image" : hash === "#/new" ? "new" : "list";
}

function wire() {
  $("#token").value = token();
  showIdentity();
  $("#identity").addEventListener("submit", e => {
    e.preventDefault();
    const value = $("#token").value.trim();
    if (value) sessionStorage.setItem("glance-token", value); else sessionStorage.removeItem("glance-token");
    showIdentity();
    route();
  });

  $("#filters").addEventListener("submit", e => {
    e.preventDefault();
    clearMessages();
    list.pages = [];
    attempt(() => showList(listUrl()));
  });
  $("#filters").addEventListener("reset", () => setTimeout(() => { list.pages = []; attempt(() => showList(listUrl())); }));
  $("#next-page").addEventListener("click", () => attempt(async () => {
    list.pages.push(list.url);
    await showList(list.next);
  }));
  $("#prev-page").addEventListener("click", () => attempt(() => showList(list.pages.pop())));
  $("#first-page").addEventListener("click", () => attempt(() => { list.pages = []; return showList(listUrl()); }));

  $("#create").addEventListener("submit", e => {
    e.preventDefault();
    clearMessages();
    const button = $("#create-button");
    button.disabled = true;
    attempt(async () => {
      const image = await create(e.target);
      e.target.reset();
      // With a file, the finished bar stays in view with a link to the image; without, go there.
      const open = $("#upload-open");
      open.href = `#/image/${image.id}`;
      open.textContent = `Open ${image.name}`;
      open.hidden = $("#upload").hidden;
      if (open.hidden) location.hash = open.getAttribute("href");
    }).finally(() => { button.disabled = false; });
  });

  $("#edit").addEventListener("submit", e => {
    e.preventDefault();
    attempt(async () => {
      const ops = [];
      const name = $("#edit-name").value;
      if (name !== (current.name || "")) ops.push({ op: "replace", path: "/name", value: name });
      const visibility = $("#edit-visibility").value;
      if (visibility !== current.visibility) ops.push({ op: "replace", path: "/visibility", value: visibility });
      const isProtected = $("#edit-protected").checked;
      if (isProtected !== !!current.protected) ops.push({ op: "replace", path: "/protected", value: isProtected });
      if (ops.length) await patch(current.id, ops);
      notify(ops.length ? "Saved." : "Nothing changed.");
      await showImage(current.id);
    });
  });

  $("#add-tag").addEventListener("submit", e => {
    e.preventDefault();
    attempt(async () => {
      await api("PUT", `/v2/images/${current.id}/tags/${encodeURIComponent($("#new-tag").value.trim())}`);
      e.target.reset();
      await showImage(current.id);
    });
  });

  $("#add-property").addEventListener("submit", e => {
    e.preventDefault();
    attempt(async () => {
      const key = $("#property-key").value.trim();
      // "add" on an existing property replaces its value (RFC 6902), so one op serves both.
      await patch(current.id, [{ op: "add", path: `/${key}`, value: $("#property-value").value }]);
      e.target.reset();
      notify(`Set ${key}.`);
      await showImage(current.id);
    });
  });

  $("#download").addEventListener("click", e => {
    // With a token the browser cannot send the header on a plain link: fetch the bytes instead.
    if (!token()) return;
    e.preventDefault();
    attempt(async () => {
      const response = await fetch(`/v2/images/${current.id}/file`, { headers: identityHeaders() });
      if (!response.ok) throw new ApiError(response.status, response.statusText);
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: current.name || current.id });
      link.click();
      URL.revokeObjectURL(link.href);
    });
  });

  const action = (name, question, run) => $(`#${name}`).addEventListener("click", () => attempt(async () => {
    if (!await confirmAction(question())) return;
    await run();
  }));
  action("deactivate", () => `Deactivate ${current.name || current.id}? Its data cannot be downloaded until it is reactivated.`,
    async () => { await api("POST", `/v2/images/${current.id}/actions/deactivate`); notify("Deactivated."); await showImage(current.id); });
  action("reactivate", () => `Reactivate ${current.name || current.id}?`,
    async () => { await api("POST", `/v2/images/${current.id}/actions/reactivate`); notify("Reactivated."); await showImage(current.id); });
  action("delete", () => `Delete ${current.name || current.id}? This cannot be undone.`,
    async () => { await api("DELETE", `/v2/images/${current.id}`); notify(`Deleted ${current.name || current.id}.`); location.hash = "#/"; });

  window.addEventListener("hashchange", route);
  route();
}

document.addEventListener("DOMContentLoaded", wire);
