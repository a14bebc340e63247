// Linda's dashboard: every page is drawn from the JSON API under the same prefix (api/...), the one
// the linda CLI and users' scripts read, and redrawn every two seconds while it is shown. Routes are
// the URL's fragment: #/ (overview), #/queues/{q}, #/jobs/{q}/{id}, #/cluster. Every action asks for
// confirmation in a dialog, is sent as a POST with the antiforgery token, and says what happened.
// A partitioned queue (its entry has "partitions") is shown with its partitions, each a queue of its
// own named QUEUE~i with a page of its own; the queue's page lists and acts on them all.
"use strict";
(() => {
  const REFRESH_MS = 2000;
  const STATES = ["ready", "delayed", "reserved", "buried"];
  const ORDER = {
    ready: ["most urgent first", "least urgent first"],
    delayed: ["due soonest first", "due last first"],
    reserved: ["lease ends soonest first", "lease ends last first"],
    buried: ["oldest first", "newest first"],
  };
  const readOnly = document.body.dataset.readonly === "true";
  const page = document.getElementById("page");
  const live = document.getElementById("live");
  let current = null; // the page shown: { refresh(), route }
  let timer = null;
  let antiforgery = null;

  // ------------------------------------------------------------------ DOM, without markup from data
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  // Replaces an element's children (text or nodes; null, undefined and false are left out).
  const put = (el, ...children) => el.replaceChildren(...h("span", {}, ...children).childNodes);
  const queueHref = (q, params) => "#/queues/" + encodeURIComponent(q) + (params ? "?" + new URLSearchParams(params) : "");
  const jobHref = (q, id) => "#/jobs/" + encodeURIComponent(q) + "/" + encodeURIComponent(id);

  // ------------------------------------------------------------------ formats
  function seconds(s) {
    if (s === null || s === undefined) return "—";
    if (s < 1) return s === 0 ? "0 s" : (s * 1000).toFixed(0) + " ms";
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }
  function when(iso) {
    if (!iso) return "—";
    const t = new Date(iso);
    const d = (t.getTime() - Date.now()) / 1000;
    const rel = Math.abs(d) < 1 ? "now" : d > 0 ? "in " + seconds(d) : seconds(-d) + " ago";
    return h("time", { datetime: iso, title: t.toISOString() }, rel);
  }
  const rate = r => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + "/s";
  const badge = (text, cls) => h("span", { class: "badge " + (cls || text) }, text);
  // Where a queue runs: its node, or a partitioned queue's partitions' nodes (each once, in order).
  const runsOn = q => q.partitions ? [...new Set(q.partitions.map(p => p.node).filter(Boolean))].join(", ") || "—" : q.node || "—";
  const partitionsMark = q => q.partitions ? h("span", {}, " ", badge(`${q.partitions.length} partitions`, "partitioned")) : null;
  // A partition's name (QUEUE~i: "~" is no name character) as [queue, i], or null.
  const partitionOf = name => { const m = /^(.+)~(0|[1-9][0-9]*)$/.exec(name); return m ? [m[1], Number(m[2])] : null; };

  // ------------------------------------------------------------------ the API
  class ApiFailure extends Error {
    constructor(status, body) {
      super(body && body.message ? body.message : "the server answered " + status);
      this.status = status;
      this.code = body && body.error;
    }
  }
  async function api(path) {
    const response = await fetch("api/" + path, { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiFailure(response.status, body);
    return body;
  }
  async function post(path, again = true) {
    antiforgery = antiforgery || await api("antiforgery");
    const response = await fetch("api/" + path, { method: "POST", headers: { [antiforgery.header]: antiforgery.token, Accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (response.status === 400 && body && body.error === "antiforgery" && again) {
      antiforgery = null; // the token went stale (a new cookie): fetch another, once
      return post(path, false);
    }
    if (!response.ok) throw new ApiFailure(response.status, body);
    return body;
  }

  // ------------------------------------------------------------------ confirmations and answers
  const dialog = document.getElementById("confirm");
  function confirmed(text) {
    document.getElementById("confirm-text").textContent = text;
    return new Promise(resolve => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }
  const flashEl = document.getElementById("flash");
  function flash(text, error) {
    flashEl.textContent = text;
    flashEl.className = error ? "error" : "";
    flashEl.hidden = false;
  }
  async function act(question, path, answer) {
    if (!await confirmed(question)) return;
    try {
      flash(answer(await post(path)));
    } catch (e) {
      flash(e.message, true);
    }
    await refresh();
  }
  const actionButton = (label, onclick, cls) => h("button", { type: "button", class: cls, disabled: readOnly, title: readOnly ? "the dashboard is read-only" : null, onclick }, label);

  // ------------------------------------------------------------------ overview
  function overview() {
    const chart = h("div", { class: "chart" });
    const body = h("tbody");
    const note = h("p", { class: "muted" });
    put(page, 
      h("h1", {}, "Queues"),
      chart,
      h("h2", {}, "Every queue"),
      h("table", { id: "queues" },
        h("thead", {}, h("tr", {},
          h("th", {}, "Queue"), ...["Ready", "Delayed", "Reserved", "Buried", "Waiting"].map(t => h("th", { class: "num" }, t)),
          h("th", { class: "num" }, "Lag"), h("th", { class: "num" }, "Done, last min"), h("th", { class: "num" }, "Failed, last min"),
          h("th", {}, "State"), h("th", {}, "Runs on"))),
        body),
      note);
    return {
      async refresh() {
        const [queues, history] = await Promise.all([api("queues"), api("history")]);
        drawChart(chart, history);
        const lastMinute = (name, key) => {
          const points = (history.queues[name] || []).slice(-Math.round(60 / history.intervalSeconds));
          return points.reduce((sum, p) => sum + p[key] * history.intervalSeconds, 0);
        };
        put(body, ...queues.map(q => q.error
          ? h("tr", { dataset: { queue: q.name } }, h("td", {}, h("a", { href: queueHref(q.name) }, q.name), partitionsMark(q)),
              h("td", { colspan: 10, class: "error-text" }, q.error.message))
          : h("tr", { dataset: { queue: q.name } },
              h("td", {}, h("a", { href: queueHref(q.name) }, q.name), partitionsMark(q)),
              ...STATES.concat("waiting").map(s => h("td", { class: "num", dataset: { field: s } }, q[s])),
              h("td", { class: "num", dataset: { field: "lag" } }, seconds(q.lagSeconds)),
              h("td", { class: "num", dataset: { field: "completed" } }, Math.round(lastMinute(q.name, "completed"))),
              h("td", { class: "num", dataset: { field: "failures" } }, Math.round(lastMinute(q.name, "failures"))),
              h("td", { dataset: { field: "state" } }, q.pausedUntil ? h("span", {}, badge("paused"), " until ", when(q.pausedUntil)) : badge("running", "ok")),
              h("td", { class: "muted", dataset: { field: "node" } }, runsOn(q)))));
        note.textContent = queues.length === 0 ? "No queues in this application." : "";
      },
    };
  }

  // The jobs completed, failed and pushed per second over the last minutes, every queue together.
  function drawChart(el, history) {
    const names = Object.keys(history.queues);
    const byTime = new Map();
    for (const n of names)
      for (const p of history.queues[n]) {
        const t = Math.round(new Date(p.at).getTime() / 1000 / history.intervalSeconds) * history.intervalSeconds;
        const sum = byTime.get(t) || { completed: 0, failures: 0, pushed: 0 };
        sum.completed += p.completed; sum.failures += p.failures; sum.pushed += p.pushed;
        byTime.set(t, sum);
      }
    const times = [...byTime.keys()].sort((a, b) => a - b);
    const series = [["completed", "#23885a", "completed"], ["failures", "#c62f3b", "failed"], ["pushed", "#2f6fdf", "pushed"]];
    const W = 1000, H = 180, P = 28;
    const max = Math.max(1, ...times.map(t => Math.max(byTime.get(t).completed, byTime.get(t).failures, byTime.get(t).pushed)));
    const top = niceCeiling(max);
    const now = Date.now() / 1000, span = 600;
    const x = t => P + (W - P - 8) * (1 - Math.min(span, Math.max(0, now - t)) / span);
    const y = v => H - 18 - (H - 30) * v / top;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "jobs per second over the last ten minutes");
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.append(e);
    };
    for (const f of [0, 0.5, 1]) {
      add("line", { x1: P, x2: W - 8, y1: y(top * f), y2: y(top * f), stroke: "#e6e9ee" });
      add("text", { x: 2, y: y(top * f) + 4, "font-size": 11, fill: "#6b7385" }, rate(top * f).replace("/s", ""));
    }
    add("text", { x: P, y: H - 2, "font-size": 11, fill: "#6b7385" }, "10 min ago");
    add("text", { x: W - 8, y: H - 2, "font-size": 11, fill: "#6b7385", "text-anchor": "end" }, "now");
    for (const [key, color] of series)
      if (times.length > 0)
        add("polyline", { points: times.map(t => `${x(t).toFixed(1)},${y(byTime.get(t)[key]).toFixed(1)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke", "data-series": key });
    const last = times.length ? byTime.get(times[times.length - 1]) : { completed: 0, failures: 0, pushed: 0 };
    put(el, 
      h("div", { class: "legend" }, "Jobs per second, every queue, the last ten minutes:",
        ...series.map(([key, color, label]) => h("span", {}, h("span", { class: "swatch", style: null, dataset: { color } }), label + " " + rate(last[key])))),
      svg,
      h("p", { class: "muted", hidden: times.length > 0 }, "The chart fills in as the queues are sampled (every " + history.intervalSeconds + " s)."));
    for (const s of el.querySelectorAll(".swatch")) s.style.background = s.dataset.color;
  }
  function niceCeiling(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 5, 10].map(m => m * p).find(c => c >= v);
  }

  // ------------------------------------------------------------------ a queue
  function queuePage(name, params) {
    const state = STATES.includes(params.get("state")) ? params.get("state") : "ready";
    const after = params.get("after");
    const reverse = params.get("reverse") === "1";
    const title = h("h1", {}, name);
    const cards = h("div", { class: "cards" });
    const tabs = h("div", { class: "tabs" });
    const body = h("tbody");
    const pager = h("div", { class: "pager" });
    const schedules = h("tbody");
    const partitions = h("tbody");
    const partitionsPart = h("div", { hidden: true },
      h("h2", {}, "Partitions"),
      h("table", { id: "partitions" },
        h("thead", {}, h("tr", {}, h("th", {}, "Partition"), h("th", {}, "Runs on"),
          ...["Ready", "Delayed", "Reserved", "Buried", "Waiting", "Lag", "Completed here", "Failures here"].map(t => h("th", { class: "num" }, t)),
          h("th", {}, "State"))),
        partitions));
    const whole = partitionOf(name);
    const kickCount = h("input", { type: "number", min: 1, value: 1, id: "kick-count", "aria-label": "jobs to kick" });
    const pauseSeconds = h("input", { type: "number", min: 1, value: 60, id: "pause-seconds", "aria-label": "seconds to pause" });
    const search = h("input", { type: "search", class: "wide", id: "job-search", placeholder: "job id", "aria-label": "job id" });
    const q = encodeURIComponent(name);
    put(page, 
      h("p", {}, h("a", { href: "#/" }, "← Queues"),
        whole ? h("span", { id: "partition-of" }, " · partition ", whole[1], " of ", h("a", { href: queueHref(whole[0]) }, whole[0])) : null),
      title, cards, partitionsPart,
      h("div", { class: "actions" },
        kickCount,
        actionButton("Kick", () => act(`Kick up to ${kickCount.value} buried or delayed jobs of ${name}?`, `queues/${q}/kick?bound=${encodeURIComponent(kickCount.value)}`, r => `Kicked ${r.kicked} job${r.kicked === 1 ? "" : "s"}.`), null),
        actionButton("Kick every buried job", () => act(`Kick every buried job of ${name}?`, `queues/${q}/kick-buried`, r => `Kicked ${r.kicked} buried job${r.kicked === 1 ? "" : "s"}.`), null),
        pauseSeconds,
        actionButton("Pause", () => act(`Pause ${name} for ${pauseSeconds.value} s? Workers get no job from it meanwhile.`, `queues/${q}/pause?seconds=${encodeURIComponent(pauseSeconds.value)}`, r => `Paused until ${new Date(r.pausedUntil).toLocaleString()}.`), null),
        actionButton("Resume", () => act(`Resume ${name}?`, `queues/${q}/resume`, () => `Resumed ${name}.`), null),
        h("form", { onsubmit: e => { e.preventDefault(); if (search.value.trim()) location.hash = jobHref(name, search.value.trim()); } },
          search, " ", h("button", { type: "submit" }, "Open job"))),
      tabs,
      h("table", { id: "jobs" },
        h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "Class"), h("th", { class: "num" }, "Priority"), h("th", { class: "num" }, "Attempt"),
          h("th", {}, state === "delayed" ? "Due" : state === "reserved" ? "Lease ends" : "Created"), h("th", {}, "Last error"))),
        body),
      pager,
      h("h2", {}, "Schedules"),
      h("table", { id: "schedules" },
        h("thead", {}, h("tr", {}, h("th", {}, "Schedule"), h("th", {}, "Cron"), h("th", {}, "Time zone"), h("th", {}, "Class"),
          h("th", {}, "Next run"), h("th", {}, "Last run"), h("th", { class: "num" }, "Runs"), h("th", { class: "num" }, "Skipped"), h("th", {}, "Misfire, overlap"))),
        schedules));
    return {
      async refresh() {
        const [stats, list, cron] = await Promise.all([
          api("queues/" + q),
          api(`queues/${q}/jobs?` + new URLSearchParams({ state, limit: 25, reverse, ...(after ? { after } : {}) })),
          api(`queues/${q}/schedules`),
        ]);
        put(schedules, ...cron.map(c => h("tr", { dataset: { schedule: c.id } },
          h("td", {}, c.id), h("td", {}, h("code", {}, c.cron)), h("td", {}, c.timeZone), h("td", {}, c.class),
          h("td", {}, when(c.nextRunAt), c.pendingSince ? h("span", {}, " ", badge("queued", "paused")) : null),
          h("td", {}, c.lastJobId ? h("a", { href: jobHref(name, c.lastJobId) }, when(c.lastRunAt)) : "—"),
          h("td", { class: "num" }, c.runs), h("td", { class: "num" }, c.skipped), h("td", { class: "muted" }, `${c.misfire}, ${c.overlap}`))),
          cron.length === 0 ? h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No schedules.")) : null);
        put(title, name, " ", stats.pausedUntil ? h("span", {}, badge("paused"), h("small", { class: "muted" }, " until ", when(stats.pausedUntil))) : badge("running", "ok"));
        const card = (label, value, field) => h("div", { class: "card" }, h("div", { class: "value", dataset: { field } }, value), h("div", { class: "label" }, label));
        put(cards, card("ready", stats.ready, "ready"), card("delayed", stats.delayed, "delayed"), card("reserved", stats.reserved, "reserved"),
          card("buried", stats.buried, "buried"), card("waiting workers", stats.waiting, "waiting"), card("lag", seconds(stats.lagSeconds), "lag"),
          card("completed here", stats.completed, "completed"), card("failures here", stats.failures, "failures"), card("cancelled", stats.cancelled, "cancelled"), card("jobs ever", stats.totalJobs, "total"),
          stats.partitions ? card("partitions", stats.partitions.length, "partitions") : null,
          card("runs on", runsOn(stats), "node"));
        partitionsPart.hidden = !stats.partitions;
        put(partitions, ...(stats.partitions || []).map(p => p.error
          ? h("tr", { dataset: { partition: p.name } }, h("td", {}, h("a", { href: queueHref(p.name) }, p.name)),
              h("td", { colspan: 10, class: "error-text" }, p.error.message))
          : h("tr", { dataset: { partition: p.name } },
              h("td", {}, h("a", { href: queueHref(p.name) }, p.name)),
              h("td", { class: "muted", dataset: { field: "node" } }, p.node || "—"),
              ...STATES.concat("waiting").map(s => h("td", { class: "num", dataset: { field: s } }, p[s])),
              h("td", { class: "num", dataset: { field: "lag" } }, seconds(p.lagSeconds)),
              h("td", { class: "num", dataset: { field: "completed" } }, p.completed),
              h("td", { class: "num", dataset: { field: "failures" } }, p.failures),
              h("td", { dataset: { field: "state" } }, p.pausedUntil ? h("span", {}, badge("paused"), " until ", when(p.pausedUntil)) : badge("running", "ok")))));
        put(tabs, ...STATES.map(s => h("a", { href: queueHref(name, { state: s }), class: s === state ? "current" : null, dataset: { state: s } }, `${s} (${stats[s]})`)));
        put(body, ...list.jobs.map(j => h("tr", { dataset: { job: j.id } },
          h("td", {}, h("a", { href: jobHref(name, j.id) }, j.id)),
          h("td", {}, j.class),
          h("td", { class: "num" }, j.priority),
          h("td", { class: "num" }, j.attempt),
          h("td", {}, when(state === "delayed" ? j.dueAt : state === "reserved" ? j.leaseDeadline : j.createdAt)),
          h("td", { class: "error-text" }, j.lastError ? j.lastError.split("\n")[0].slice(0, 120) : ""))));
        if (list.jobs.length === 0) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, `No ${state} job${after ? " after this point" : ""}.`)));
        const [order, reversed] = ORDER[state];
        put(pager, 
          h("span", { class: "muted" }, `${list.total} ${state}, ${reverse ? reversed : order}`),
          h("a", { href: queueHref(name, { state, ...(reverse ? {} : { reverse: 1 }) }) }, reverse ? order : reversed),
          after ? h("a", { href: queueHref(name, { state, ...(reverse ? { reverse: 1 } : {}) }) }, "First page") : null,
          list.next ? h("a", { href: queueHref(name, { state, after: list.next, ...(reverse ? { reverse: 1 } : {}) }), id: "next-page" }, "Next page") : null);
      },
    };
  }

  // ------------------------------------------------------------------ a job
  function jobPage(queue, id) {
    const q = encodeURIComponent(queue), j = encodeURIComponent(id);
    const content = h("div");
    put(page, h("p", {}, h("a", { href: queueHref(queue) }, "← " + queue)), h("h1", {}, "Job ", id), content);
    return {
      async refresh() {
        let job;
        try {
          job = await api(`jobs/${q}/${j}`);
        } catch (e) {
          if (e.status !== 404) throw e;
          put(content, h("p", { id: "job-gone" }, `No job '${id}' in ${queue} now: it was completed or deleted, or never was.`));
          return;
        }
        const field = (label, value, name) => [h("dt", {}, label), h("dd", { dataset: { field: name || label } }, value)];
        const payload = job.args !== null && job.args !== undefined
          ? h("pre", { id: "payload" }, JSON.stringify(job.args, null, 2))
          : h("pre", { id: "payload" }, bytes(job.bytes));
        put(content, 
          h("div", { class: "actions" },
            job.state === "buried" || job.state === "delayed"
              ? actionButton("Kick", () => act(`Kick job ${id} to ready?`, `jobs/${q}/${j}/kick`, r => `Kicked job ${r.kicked}.`), null) : null,
            job.cancelRequested ? h("span", { class: "muted" }, badge("cancelling", "paused"), " its worker was told to stop") : null,
            actionButton(job.state === "reserved" ? "Cancel run" : "Cancel",
              () => act(job.state === "reserved" ? `Cancel the run of job ${id}? Its worker is told to stop; the job is not retried.` : `Cancel job ${id}? It is removed.`,
                `jobs/${q}/${j}/cancel`, r => r.wasRunning ? `Cancelling job ${r.cancelled}: its worker was told.` : `Cancelled job ${r.cancelled}.`), "danger"),
            job.state !== "reserved"
              ? actionButton("Delete", () => act(`Delete job ${id} of ${queue}? This can't be undone.`, `jobs/${q}/${j}/delete`, r => `Deleted job ${r.deleted}.`), "danger")
              : h("span", { class: "muted" }, "Reserved: only its holder can end it (complete, release or bury).")),
          h("dl", { class: "fields" },
            field("state", badge(job.state), "state"), field("class", job.class),
            field("queue", job.queue === queue ? job.queue
              : h("span", {}, h("a", { href: queueHref(job.queue) }, job.queue), partitionOf(job.queue) ? ` (partition ${partitionOf(job.queue)[1]} of ${queue})` : ""), "queue"),
            field("priority", job.priority),
            field("attempt", job.attempt), field("reserves", job.reserves), field("lease timeouts", job.timeouts, "timeouts"), field("releases", job.releases),
            field("buries", job.buries), field("kicks", job.kicks), field("time to run", seconds(job.timeToRunSeconds), "ttr"),
            field("max retries", job.maxRetries ?? "the queue's default", "maxRetries"), field("period", job.periodSeconds ? "every " + seconds(job.periodSeconds) : "—", "period"),
            field("delay asked", seconds(job.delaySeconds), "delay"), field("due", when(job.dueAt), "dueAt"), field("lease ends", when(job.leaseDeadline), "leaseDeadline"),
            field("lease holder", job.holder || "—", "holder"), field("holder's node", job.holderNode || "—", "holderNode"),
            field("progress", job.progress === null || job.progress === undefined ? "—"
              : h("span", {}, h("progress", { max: 100, value: job.progress }), ` ${job.progress}%`, job.progressMessage ? ` ${job.progressMessage}` : "", " (", when(job.progressAt), ")"), "progress"),
            field("run timeout", job.timeoutSeconds ? seconds(job.timeoutSeconds) : "—", "timeout"),
            field("unique key", job.uniqueKey ? job.uniqueKey + (job.uniqueForSeconds ? `, held ${seconds(job.uniqueForSeconds)} after it ends` : "") : "—", "uniqueKey"),
            field("created", when(job.createdAt), "createdAt"), field("push order", job.seq, "seq")),
          h("h2", {}, job.args !== null && job.args !== undefined ? "Args (JSON)" : "Payload (bytes)"), payload,
          h("h2", {}, "Last error"), job.lastError ? h("pre", { id: "last-error" }, job.lastError) : h("p", { class: "muted" }, "None."));
      },
    };
  }
  // A raw payload: its text where it is text, and a hex dump.
  function bytes(base64) {
    const raw = Uint8Array.from(atob(base64 || ""), c => c.charCodeAt(0));
    let text;
    try { text = new TextDecoder("utf-8", { fatal: true }).decode(raw); } catch { text = null; }
    const lines = [];
    for (let i = 0; i < raw.length && i < 4096; i += 16) {
      const row = [...raw.slice(i, i + 16)];
      lines.push(i.toString(16).padStart(6, "0") + "  " + row.map(b => b.toString(16).padStart(2, "0")).join(" ").padEnd(48) + "  " +
        row.map(b => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join(""));
    }
    return `${raw.length} bytes` + (text !== null ? `, as text:\n${text}\n\n` : "\n\n") + lines.join("\n") + (raw.length > 4096 ? "\n…" : "");
  }

  // ------------------------------------------------------------------ the cluster
  function clusterPage() {
    const summary = h("p", { class: "muted" });
    const body = h("tbody");
    const unlocated = h("p", { class: "error-text" });
    put(page, h("h1", {}, "Cluster"), summary,
      h("table", { id: "members" }, h("thead", {}, h("tr", {}, h("th", {}, "Node"), h("th", {}, "Status"), h("th", {}, "Roles"),
        h("th", {}, "Queues it hosts"), h("th", {}, "Workers"))), body), unlocated);
    return {
      async refresh() {
        const c = await api("cluster");
        summary.textContent = `${c.members.length} node${c.members.length === 1 ? "" : "s"}; this page is served by ${c.self}; leader ${c.leader || "none"}.`;
        put(body, ...c.members.map(m => h("tr", { dataset: { node: m.address } },
          h("td", {}, m.address, m.self ? h("span", {}, " ", badge("this node", "ok")) : null, m.leader ? h("span", {}, " ", badge("leader", "reserved")) : null),
          h("td", {}, m.reachable ? m.status : h("span", {}, m.status, " ", badge("unreachable", "bad"))),
          h("td", {}, m.roles.length ? m.roles.join(", ") : h("span", { class: "muted" }, "none")),
          h("td", { dataset: { field: "queues" } }, m.queues.length ? m.queues.map((q, i) => h("span", {}, i ? ", " : "", h("a", { href: queueHref(q) }, q))) : h("span", { class: "muted" }, "none")),
          h("td", { dataset: { field: "workers" } }, m.workers === null ? h("span", { class: "muted" }, "no Linda workers (or no answer)")
            : m.workers.length ? m.workers.map(w => `${w.queue}: ${w.workers}`).join(", ") : h("span", { class: "muted" }, "none")))));
        unlocated.textContent = c.unlocated.length ? "Not answering where they run: " + c.unlocated.join(", ") : "";
      },
    };
  }

  // ------------------------------------------------------------------ routing and refreshing
  function route() {
    const [path, query] = (location.hash.slice(1) || "/").split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const params = new URLSearchParams(query || "");
    for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("current", a.dataset.nav === (parts[0] === "cluster" ? "cluster" : "overview"));
    if (parts[0] === "queues" && parts.length === 2) return queuePage(parts[1], params);
    if (parts[0] === "jobs" && parts.length === 3) return jobPage(parts[1], parts[2]);
    if (parts[0] === "cluster") return clusterPage();
    return overview();
  }
  async function refresh() {
    const shown = current;
    try {
      await shown.refresh();
      live.classList.remove("stale");
      live.textContent = "live";
      live.title = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      if (shown !== current) return;
      live.classList.add("stale");
      live.textContent = "not updating";
      live.title = e.message;
      if (e.status) flash(e.message, true);
    }
  }
  function show() {
    clearTimeout(timer);
    current = route();
    const loop = async () => {
      const shown = current;
      await refresh();
      if (shown === current) timer = setTimeout(loop, REFRESH_MS);
    };
    loop();
  }
  window.addEventListener("hashchange", () => { flashEl.hidden = true; show(); });
  show();
})();
