// The analyst pages: overview cards and one page per topic, drawn from the indicator API.
// Indicator, dimension, category and slice names and the reasons a cell is suppressed come from the service
// (/indicators/catalog, /indicators/labels, /org-units?scope=published); only the page's own words (buttons,
// captions) are written here, in UI below.
"use strict";

(() => {
  const UI = {
    zh: {
      brand: "工会社工队伍指标", brandSub: "社会化工会工作者 · 月度监测", other: "English", overview: "概览",
      overviewLede: "全市口径的核心指标：最近一期数值、与一年前相比的变化和趋势。点击卡片进入对应专题页。",
      topicLede: "选择指标、周期和切片维度；组织单位可逐级下钻（区 → 街道 → 小二级）。已抑制的单元格显示为缺口和◇标记。",
      indicator: "指标", periodKind: "周期", category: "类别", dimension: "切片维度", from: "起", to: "止",
      chart: "趋势图", multiples: "分单位对比", table: "表格", csv: "下载CSV（与所示数据一致）",
      apiLink: "接口", suppressed: "已抑制", noData: "无数据", noRows: "所选条件下没有数据。",
      notPublished: "该层级未发布指标（见设置 METRICS_ORG_LEVELS），或该单位没有下级单位。",
      suppressedWhy: (k, why) => `已抑制（k = ${k}）${why ? `：${why}` : ""}`, whySep: "；",
      legendWhy: (why) => `${why}。抑制不是零，也不是缺数据。`,
      formula: "公式", unit: "单位", standard: "标准", asOf: "数据截至", refreshed: "刷新于", k: "抑制阈值",
      drill: "下钻", up: "返回上级", all: "全部", vsYearAgo: "较一年前", latest: "最近一期",
      facts: "已公布数据对照", factsLede: "项目公开报告中的数字与本系统根据事件计算的结果对照（全市，年度合计）。",
      published: "已公布", computed: "系统计算", difference: "差额", yearToDate: "（年初至今）",
      units: { "%": "%", CNY: "元", workers: "人", participations: "人次", days: "天", hours: "学时", ratio: "倍",
        "grade changes": "人次" },
      period: "期间", loadFailed: "加载失败", shown: (n, total) => `显示 ${n} / ${total} 个单位`,
      pages: "页面", docs: "接口文档", showing: "显示",
    },
    en: {
      brand: "Union social workers", brandSub: "Workforce indicators · monthly", other: "中文", overview: "Overview",
      overviewLede: "Program-wide headline indicators: the latest period, the change against a year before, and the " +
        "trend. Click a card to open its topic.",
      topicLede: "Choose an indicator, a period kind and a slice dimension; org units drill down (district → street → " +
        "second-tier union). Suppressed cells are drawn as gaps with a ◇ mark.",
      indicator: "Indicator", periodKind: "Period", category: "Category", dimension: "Slice by", from: "From", to: "To",
      chart: "Trend", multiples: "Side by side", table: "Table", csv: "Download CSV (exactly what is shown)",
      apiLink: "API", suppressed: "suppressed", noData: "no data", noRows: "No data for these filters.",
      notPublished: "Indicators are not published at this level (see METRICS_ORG_LEVELS), or the unit has no " +
        "sub-units.",
      suppressedWhy: (k, why) => `Suppressed (k = ${k})${why ? `: ${why}` : ""}`, whySep: "; ",
      legendWhy: (why) => `${why}. Suppressed is not zero and not missing data.`,
      formula: "Formula", unit: "Unit", standard: "Standard", asOf: "Data as of", refreshed: "refreshed",
      k: "suppression threshold", drill: "Drill down", up: "Up", all: "All", vsYearAgo: "vs a year before",
      latest: "latest", facts: "Published facts", factsLede: "Figures from the program's public reports beside " +
        "the ones computed here from the events (program-wide, summed over the years).",
      published: "Published", computed: "Computed", difference: "Difference", yearToDate: " (year to date)",
      units: { "%": "%", CNY: "CNY", workers: "workers", participations: "participations", days: "days",
        hours: "hours", ratio: "×", "grade changes": "grade changes" },
      period: "Period", loadFailed: "Could not load", shown: (n, total) => `showing ${n} of ${total} units`,
      pages: "Pages", docs: "API documentation", showing: "showing",
    },
  };
  const CARDS = [
    { indicator: "headcount_end", kind: "month", topic: "headcount" },
    { indicator: "separation_rate", kind: "year", topic: "turnover" },
    { indicator: "separation_rate", kind: "rolling12", topic: "turnover" },
    { indicator: "stability_index", kind: "month", topic: "turnover" },
    { indicator: "pay_median", kind: "month", category: "total", topic: "pay" },
    { indicator: "pay_vs_reference", kind: "year", topic: "pay" },
    { indicator: "trainee_times", kind: "year", topic: "training", category: "" },
    { indicator: "trainees", kind: "year", topic: "training", category: "" },
    { indicator: "promotion_rate", kind: "year", topic: "career" },
  ];
  const KIND_ORDER = ["month", "year", "rolling12", "cohort"];
  // A topic whose monthly figures are mostly 0 with spikes (few promotions a month per unit) opens on 12 months.
  const FIRST_KIND = { career: "rolling12" };
  const FIRST_INDICATOR = { headcount: "headcount_avg", turnover: "separation_rate", training: "trainee_times",
    pay: "pay_median", career: "promotion_rate" };
  const CHART_SERIES = 6; // more slices than this start with only the first few drawn (the legend adds the rest)
  const MAX_ROWS = 100000;
  const S = {
    lang: "zh", labels: null, catalog: {}, units: {}, children: {}, status: null, cache: new Map(), charts: [],
    queued: [],
  };

  // ---- small helpers -------------------------------------------------------------------------------------------
  const $ = (sel, root = document) => root.querySelector(sel);
  const t = (key) => UI[S.lang][key];
  const label = (table, code) => {
    const entry = S.labels && S.labels[table] && S.labels[table][code];
    return entry ? entry[S.lang] : code;
  };
  const indName = (name) => (S.catalog[name] ? S.catalog[name][`name_${S.lang}`] : name);
  const unitName = (id) => {
    const u = S.units[id];
    return u ? (S.lang === "zh" ? u.name_zh : u.name_en) || id : id;
  };
  const sliceName = (dim, code) => {
    if (dim === "org") return unitName(code);
    if (dim === "all") return label("dimensions", "all");
    return label("slices", code);
  };
  const locale = () => (S.lang === "zh" ? "zh-CN" : "en-GB");
  const el = (tag, attrs = {}, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid !== undefined && kid !== null) node.append(kid instanceof Node ? kid : document.createTextNode(kid));
    }
    return node;
  };

  // A formatter per locale and number of decimals, made once: making one costs far more than using it, and an
  // axis formats every tick of every chart.
  const formats = new Map();
  function numberFormat(lang, places, fewest = places) {
    const key = `${lang}|${places}|${fewest}`;
    if (!formats.has(key)) {
      formats.set(key, new Intl.NumberFormat(lang, { minimumFractionDigits: fewest, maximumFractionDigits: places }));
    }
    return formats.get(key);
  }
  // An axis tick: no trailing zeros (25, 2.5, 0.83; not 25.00), the unit being named by the axis or the view.
  const tickText = (value) => numberFormat(locale(), 2, 0).format(value);

  function fmtValue(value, unit) {
    if (value === null || value === undefined) return "";
    const digits = { "%": 1, CNY: 0, ratio: 2, days: 0, hours: 1 }[unit];
    const places = digits !== undefined ? digits : Number.isInteger(value) ? 0 : 1;
    const text = numberFormat(locale(), places).format(value);
    return unit === "%" ? `${text} %` : text;
  }
  const unitText = (unit) => UI[S.lang].units[unit] || unit;
  const formulaOf = (info) => (S.lang === "zh" ? info.formula_zh : info.formula) || info.formula || "";

  function fmtPeriod(kind, iso) {
    const month = iso.slice(0, 7);
    if (kind === "year") return iso.slice(0, 4);
    if (kind === "rolling12") return S.lang === "zh" ? `截至${month}的12个月` : `12 m to ${month}`;
    return month;
  }

  // Why cells are suppressed, in the catalog's words and order (/indicators/labels `reasons`); a code the catalog
  // does not know is shown as it is.
  function whyText(codes) {
    const k = S.status ? S.status.k : "k";
    const known = Object.keys(S.labels.reasons);
    const present = [...known.filter((c) => codes.includes(c)), ...new Set(codes.filter((c) => !known.includes(c)))];
    return UI[S.lang].suppressedWhy(k, present.map((code) => label("reasons", code)).join(t("whySep")));
  }
  const reasonText = (row) => whyText(row && row.reason ? [row.reason] : []);
  const reasonsOf = (cells) => cells.filter((c) => c && c.suppressed && c.reason).map((c) => c.reason);

  // One request per URL: the answer is kept as a promise, so a call made while the same URL is on its way (an
  // early fetch started by start()) waits for that answer instead of asking again; a failed answer is forgotten.
  function getJSON(url) {
    if (!S.cache.has(url)) {
      const answer = fetchJSON(url);
      S.cache.set(url, answer);
      answer.catch(() => S.cache.delete(url));
    }
    return S.cache.get(url);
  }

  async function fetchJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) throw new Error((body && body.error) || `${response.status} ${url}`);
    return body;
  }

  // The chart library is loaded after this file (index.html), so that the first data calls are on their way while
  // the browser compiles it; whatever draws a chart waits for it here. (Its script's id is not "echarts": an
  // element's id is also a property of window, which would pass for the library before it has loaded.)
  const chartsReady = new Promise((resolve, reject) => {
    if (window.echarts && typeof window.echarts.init === "function") return resolve();
    const script = document.getElementById("chart-library");
    script.addEventListener("load", () => resolve(), { once: true });
    script.addEventListener("error", () => reject(new Error(`${script.src}: not loaded`)), { once: true });
  });
  chartsReady.catch(() => {}); // reported by the render that waits for it, not as an unhandled rejection

  async function fetchRows(params) {
    const out = [];
    let url = `/indicators?${params.toString()}`;
    while (url) {
      const body = await getJSON(url);
      out.push(...body.rows);
      url = body.next || null;
    }
    return out;
  }

  function apiParams(q, slices) {
    const p = new URLSearchParams();
    p.append("indicator", q.indicator);
    p.append("period_kind", q.kind);
    p.append("dimension", q.dim);
    for (const s of slices || []) p.append("slice", s);
    p.append("category", q.category || "");
    if (q.from) p.append("from", q.from);
    if (q.to) p.append("to", q.to);
    p.append("limit", String(MAX_ROWS));
    return p;
  }

  function showError(error) {
    const bar = $("#status");
    bar.className = "status error";
    bar.textContent = `${t("loadFailed")}: ${error.message || error}`;
  }

  function disposeCharts() {
    S.queued = [];
    for (const chart of S.charts) chart.dispose();
    S.charts = [];
  }

  // Small charts (the cards' trends, the side-by-side views) are queued while the page is built, then drawn by
  // drawQueued: those in the first screen in the next frame, the rest below it when the browser is idle, a few at
  // a time, so the first screen is complete sooner and the page answers input meanwhile. Nodes queued with the same
  // `draw` are drawn by one call of it, given those of them drawn at that time. #main[data-drawn] is set once every
  // queued chart is drawn.
  function drawLater(node, draw) {
    S.queued.push({ node, draw });
  }

  function drawAll(jobs) {
    const groups = new Map();
    for (const job of jobs) groups.set(job.draw, [...(groups.get(job.draw) || []), job.node]);
    for (const [draw, nodes] of groups) draw(nodes);
  }

  function drawQueued(main, mine) {
    const current = () => mine === renders;
    requestAnimationFrame(() => {
      if (!current()) return;
      const jobs = S.queued.splice(0);
      const first = jobs.filter((job) => job.node.getBoundingClientRect().top < window.innerHeight);
      const below = jobs.filter((job) => !first.includes(job));
      drawAll(first);
      const rest = (deadline) => {
        if (!current()) return;
        do {
          const draw = below[0].draw;
          drawAll(below.filter((job) => job.draw === draw));
          below.splice(0, below.length, ...below.filter((job) => job.draw !== draw));
        } while (below.length && deadline.timeRemaining() > IDLE_SLACK_MS);
        if (below.length) idle(rest);
        else main.dataset.drawn = "1";
      };
      if (below.length) idle(rest);
      else main.dataset.drawn = "1";
    });
  }

  const IDLE_SLACK_MS = 8; // a small chart's draw, once the library's code is warm
  const idle = (callback) => (window.requestIdleCallback
    ? window.requestIdleCallback(callback, { timeout: 250 })
    : setTimeout(() => callback({ timeRemaining: () => 0 }), 16));

  function newChart(node) {
    const chart = echarts.init(node, null, { renderer: "canvas", locale: S.lang === "zh" ? "ZH" : "EN" });
    S.charts.push(chart);
    return chart;
  }

  // ---- frame ---------------------------------------------------------------------------------------------------
  function pageName() {
    const m = location.pathname.match(/^\/pages\/([a-z_]+)$/);
    return m ? m[1] : "overview";
  }

  function renderFrame() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.title = `${t("brand")} · ${S.lang === "zh" ? "Union social workers" : "工会社工队伍指标"}`;
    $("#brand").replaceChildren(t("brand"), el("small", {}, t("brandSub")));
    const current = pageName();
    const links = [["overview", t("overview")], ...Object.keys(S.labels.topics).map((k) => [k, label("topics", k)])];
    $("#nav").replaceChildren(
      ...links.map(([name, text]) =>
        el("a", {
          href: name === "overview" ? "/" : `/pages/${name}`,
          class: name === current ? "current" : "",
          "data-page": name,
          onclick: (e) => {
            e.preventDefault();
            go(name === "overview" ? "/" : `/pages/${name}`);
          },
        }, text)),
    );
    $("#lang").textContent = t("other");
    const st = S.status || {};
    const bar = $("#status");
    bar.className = "status";
    bar.textContent = [
      st.as_of ? `${t("asOf")} ${st.as_of}` : null,
      st.refreshed_at ? `${t("refreshed")} ${new Date(st.refreshed_at).toLocaleString(locale())}` : null,
      st.k !== undefined ? `${t("k")} k = ${st.k}` : null,
    ].filter(Boolean).join(" · ");
    $("#footer").replaceChildren(
      `${t("docs")}: `, el("a", { href: "/openapi.json" }, "/openapi.json"), " · ",
      el("a", { href: "/indicators/catalog" }, "/indicators/catalog"), " · ",
      el("a", { href: "/indicators/labels" }, "/indicators/labels"),
    );
  }

  function go(path) {
    history.pushState(null, "", path);
    render();
  }

  let renders = 0;  // the latest render wins: an older one still loading must not mark the page ready

  async function render() {
    // Not ready until this render has drawn: a test (or a user's script) waiting on data-ready must not see the
    // previous page's flag while this one still loads.
    const mine = ++renders;
    const main = $("#main");
    main.dataset.ready = "";
    main.dataset.drawn = "";
    disposeCharts();
    renderFrame();
    main.replaceChildren(el("p", { class: "loading" }, "…"));
    try {
      const name = pageName();
      if (name === "overview") await renderOverview(main);
      else await renderTopic(main, name);
      if (mine === renders) {
        drawQueued(main, mine);
        main.dataset.ready = "1";
      }
    } catch (error) {
      if (mine !== renders) return;
      showError(error);
      main.dataset.ready = "error";
    }
  }

  // ---- overview ------------------------------------------------------------------------------------------------
  async function renderOverview(main) {
    const cards = el("div", { class: "cards", id: "cards" });
    main.replaceChildren(el("h1", {}, t("overview")), el("p", { class: "lede" }, t("overviewLede")), cards);
    // Two calls serve every card and the published facts: the years, and the last three years of months.
    const facts = S.labels.published_facts || [];
    const yearly = (card) => card.kind === "year";
    const asOf = (S.status && S.status.as_of) || new Date().toISOString().slice(0, 10);
    const [years, months] = await Promise.all([
      fetchRows(overviewParams([...CARDS.filter(yearly), ...facts.map((f) => ({ ...f, kind: "year" }))])),
      fetchRows(overviewParams(CARDS.filter((c) => !yearly(c)), monthsBefore(asOf, 36))),
    ]);
    await chartsReady;
    const rows = [...years, ...months];
    for (const card of CARDS) {
      cards.append(renderCard(card, rows.filter((r) => r.indicator === card.indicator &&
        r.period_kind === card.kind && r.category === (card.category || ""))));
    }
    main.append(renderFacts(facts, years));
  }

  function overviewParams(wanted, from) {
    const p = new URLSearchParams();
    for (const name of new Set(wanted.map((w) => w.indicator))) p.append("indicator", name);
    for (const kind of new Set(wanted.map((w) => w.kind))) p.append("period_kind", kind);
    for (const category of new Set(wanted.map((w) => w.category || ""))) p.append("category", category);
    p.append("dimension", "all");
    p.append("slice", "all");
    if (from) p.append("from", from);
    p.append("limit", String(MAX_ROWS));
    return p;
  }

  function renderCard(card, rows) {
    const info = S.catalog[card.indicator] || { unit: "" };
    rows.sort((a, b) => a.period.localeCompare(b.period));
    const latest = rows[rows.length - 1];
    const back = card.kind === "year" ? 1 : 12;
    const before = rows.length > back ? rows[rows.length - 1 - back] : null;
    const node = el("div", {
      class: "card", "data-indicator": card.indicator, "data-period-kind": card.kind, role: "link", tabindex: "0",
      onclick: () => go(`/pages/${card.topic}?indicator=${card.indicator}&period_kind=${card.kind}&dimension=all` +
        (card.category ? `&category=${card.category}` : "")),
    });
    node.append(el("h3", {}, `${indName(card.indicator)} · ${label("period_kinds", card.kind)}`));
    if (!latest) {
      node.append(el("div", { class: "figure" }, "–"), el("div", { class: "period" }, t("noData")));
      return node;
    }
    const figure = el("div", { class: "figure", "data-value": latest.suppressed ? "" : String(latest.value) });
    if (latest.suppressed) figure.append(el("span", { title: reasonText(latest) }, `◇ ${t("suppressed")}`));
    else figure.append(fmtValue(latest.value, info.unit), el("span", { class: "unit" }, info.unit === "%" ? "" :
      unitText(info.unit)));
    const ytd = card.kind === "year" && S.status && S.status.as_of && S.status.as_of.slice(0, 4) ===
      latest.period.slice(0, 4) && S.status.as_of.slice(5) !== "12-31" ? t("yearToDate") : "";
    const periodLine = el("div", { class: "period" }, `${t("latest")}: ${fmtPeriod(card.kind, latest.period)}${ytd}`);
    if (before && !before.suppressed && !latest.suppressed && before.value !== null && latest.value !== null) {
      const diff = latest.value - before.value;
      const sign = diff > 0 ? "+" : "";
      const text = info.unit === "%" ? `${sign}${fmtValue(diff, "ratio")} pp` : `${sign}${fmtValue(diff, info.unit)}`;
      periodLine.append(el("span", { class: "delta" }, `${t("vsYearAgo")} ${text}`));
    }
    const spark = el("div", { class: "spark" });
    node.append(figure, periodLine, spark,
      el("div", { class: "about" }, `${formulaOf(info)} · ${info.standard || ""}`));
    drawLater(spark, () => drawSpark(spark, card, rows.slice(card.kind === "year" ? -12 : -36)));
    return node;
  }

  function drawSpark(node, card, rows) {
    const chart = newChart(node);
    chart.setOption({
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 2 },
      xAxis: { type: "category", show: false, data: rows.map((r) => fmtPeriod(card.kind, r.period)) },
      yAxis: { type: "value", show: false, scale: true },
      tooltip: { trigger: "axis", formatter: (items) => items.map((it) => `${it.name}: ${it.value === null ||
        it.value === undefined ? t("suppressed") : fmtValue(it.value, (S.catalog[card.indicator] || {}).unit)}`)
        .join("<br>") },
      series: [{ type: "line", data: rows.map((r) => (r.suppressed ? null : r.value)), showSymbol: false,
        lineStyle: { color: "#b3261e", width: 1.5 }, areaStyle: { color: "rgba(179,38,30,0.08)" } }],
    });
  }

  function renderFacts(facts, years) {
    const panel = el("div", { class: "panel", id: "facts" });
    panel.append(el("h2", {}, t("facts")), el("p", { class: "lede" }, t("factsLede")));
    const table = el("table", { class: "facts" });
    table.append(el("tr", {}, el("th", {}, t("indicator")), el("th", {}, t("published")),
      el("th", {}, t("computed")), el("th", {}, t("difference"))));
    for (const fact of facts) {
      const shown = years.filter((r) => r.indicator === fact.indicator && r.category === fact.category &&
        !r.suppressed && r.value !== null && r.period >= `${fact.from_year}-01-01` &&
        r.period <= `${fact.to_year}-12-31`);
      const sum = shown.reduce((acc, r) => acc + r.value, 0);
      const complete = shown.length === fact.to_year - fact.from_year + 1;
      table.append(el("tr", { "data-fact": `${fact.indicator}:${fact.category}` },
        el("td", {}, fact[S.lang]),
        el("td", {}, fmtValue(fact.value, "workers")),
        el("td", { "data-value": complete ? String(sum) : "" }, complete ? fmtValue(sum, "workers") : t("noData")),
        el("td", {}, complete ? fmtValue(sum - fact.value, "workers") : "")));
    }
    panel.append(table);
    return panel;
  }

  // ---- topic pages ---------------------------------------------------------------------------------------------
  function readQuery() {
    const p = new URLSearchParams(location.search);
    return {
      indicator: p.get("indicator"), kind: p.get("period_kind"), category: p.get("category"),
      dim: p.get("dimension"), unit: p.get("unit") || "", from: p.get("from"), to: p.get("to"),
      view: p.get("view"),
    };
  }

  function writeQuery(q, push) {
    const p = new URLSearchParams();
    for (const [key, name] of [["indicator", "indicator"], ["kind", "period_kind"], ["category", "category"],
      ["dim", "dimension"], ["unit", "unit"], ["from", "from"], ["to", "to"], ["view", "view"]]) {
      if (q[key] !== null && q[key] !== undefined && (q[key] !== "" || key === "category")) p.set(name, q[key]);
    }
    const url = `${location.pathname}?${p.toString()}`;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  function monthsBefore(iso, months) {
    const [y, m] = iso.split("-").map(Number); // the day is dropped: periods start on the 1st
    const index = y * 12 + (m - 1) - months;
    return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}-01`;
  }

  // The topic's indicators in the catalog's order, and the one the page shows: the address's if it is one of them.
  function topicIndicator(topic, q) {
    const names = Object.keys(S.catalog).filter((n) => S.catalog[n].topic === topic);
    if (!names.includes(q.indicator)) q.indicator = names.includes(FIRST_INDICATOR[topic]) ? FIRST_INDICATOR[topic]
      : names[0];
    return names;
  }

  const facetsURL = (indicator) => `/indicators/facets?indicator=${encodeURIComponent(indicator)}`;

  async function resolveQuery(topic, q) {
    const names = topicIndicator(topic, q);
    const facets = (await getJSON(facetsURL(q.indicator))).period_kinds;
    const kinds = KIND_ORDER.filter((k) => facets[k]);
    if (!kinds.includes(q.kind)) q.kind = kinds.includes(FIRST_KIND[topic]) ? FIRST_KIND[topic] : kinds[0];
    const facet = q.kind ? { ...facets[q.kind], categories: byCatalog(facets[q.kind].categories) } : null;
    if (!facet) return { names, kinds, facet: null };
    const dims = Object.keys(S.labels.dimensions).filter((d) => facet.dimensions.includes(d));
    if (!dims.includes(q.dim)) q.dim = dims.includes("org") ? "org" : dims[0];
    if (!facet.categories.includes(q.category)) {
      q.category = ["", "total"].find((c) => facet.categories.includes(c)) ?? facet.categories[0];
    }
    if (!q.to || q.to > facet.to) q.to = facet.to;
    if (!q.from || q.from < facet.from || q.from > q.to) {
      q.from = q.kind === "year" ? facet.from : [monthsBefore(q.to, 35), facet.from].sort().pop();
    }
    if (q.dim !== "org" || (q.unit && !S.units[q.unit])) q.unit = "";
    if (!["chart", "multiples", "table"].includes(q.view)) q.view = q.dim === "org" ? "multiples" : "chart";
    return { names, kinds, dims, facet };
  }

  // A facet's categories in the catalog's order (codes that are numbers, such as levels and day marks, first in
  // number order, as JavaScript orders such keys), the empty category (every category) before all; a code the
  // catalog does not know goes last.
  function byCatalog(categories) {
    const known = Object.keys(S.labels.categories);
    const rank = (c) => (c === "" ? -1 : known.includes(c) ? known.indexOf(c) : known.length);
    return [...categories].sort((a, b) => rank(a) - rank(b));
  }

  function periodOptions(kind, facet) {
    const out = [];
    const step = kind === "year" ? 12 : 1;
    for (let p = facet.from; p <= facet.to; p = monthsBefore(p, -step)) out.push([p, fmtPeriod(kind, p)]);
    return out;
  }

  function orgSlices(unit) {
    return (S.children[unit || ""] || []).slice();
  }

  async function renderTopic(main, topic) {
    const q = readQuery();
    const { names, kinds, dims, facet } = await resolveQuery(topic, q);
    writeQuery(q, false);
    main.replaceChildren(el("h1", {}, label("topics", topic)), el("p", { class: "lede" }, t("topicLede")));
    if (!facet) {
      main.append(el("p", { class: "empty" }, t("noRows")));
      return;
    }
    const change = (key) => (event) => {
      q[key] = event.target.value;
      if (key === "indicator" || key === "kind") {
        q.from = null;
        q.to = null;
      }
      if (key === "dim") {
        q.unit = "";
        q.view = null;
      }
      writeQuery(q, true);
      render();
    };
    const select = (id, key, options, value) => el("select", { id, onchange: change(key) },
      options.map(([code, text]) => el("option", { value: code, selected: code === value }, text)));
    const filters = el("div", { class: "filters panel", id: "filters" },
      el("label", {}, t("indicator"), select("f-indicator", "indicator", names.map((n) => [n, indName(n)]),
        q.indicator)),
      el("label", {}, t("periodKind"), select("f-kind", "kind", kinds.map((k) => [k, label("period_kinds", k)]),
        q.kind)),
      facet.categories.length > 1 || facet.categories[0] !== ""
        ? el("label", {}, t("category"), select("f-category", "category",
          facet.categories.map((c) => [c, label("categories", c)]), q.category))
        : null,
      el("label", {}, t("dimension"), select("f-dimension", "dim", dims.map((d) => [d, label("dimensions", d)]),
        q.dim)),
      el("label", {}, t("from"), select("f-from", "from", periodOptions(q.kind, facet), q.from)),
      el("label", {}, t("to"), select("f-to", "to", periodOptions(q.kind, facet), q.to)),
      el("div", { class: "views" }, ["chart", "multiples", "table"].map((v) => el("button", {
        type: "button", id: `v-${v}`, class: q.view === v ? "on" : "",
        onclick: () => { q.view = v; writeQuery(q, true); render(); },
      }, t(v)))),
    );
    main.append(filters);
    if (q.dim === "org") main.append(crumbs(q));
    const slices = q.dim === "org" ? orgSlices(q.unit) : q.dim === "all" ? ["all"] : null;
    const params = apiParams(q, slices);
    const rows = slices && slices.length === 0 ? [] : await fetchRows(params);
    await chartsReady;
    const panel = el("div", { class: "panel", id: "view", "data-view": q.view });
    panel.append(about(q), actions(params));
    main.append(panel);
    if (!rows.length) {
      panel.append(el("p", { class: "empty", id: "empty" }, q.dim === "org" && q.unit ? t("notPublished") :
        t("noRows")));
      return;
    }
    const model = buildModel(q, rows, slices);
    panel.append(el("div", { class: "legend-hidden" }, el("span", {}, el("span", { class: "mark" }),
      UI[S.lang].legendWhy(whyText(reasonsOf(rows))))));
    if (q.view === "table") panel.append(renderTable(q, model));
    else if (q.view === "multiples") panel.append(renderMultiples(q, model));
    else {
      const node = el("div", { class: "chart", id: "chart" });
      panel.append(node);
      drawMain(node, q, model);
    }
  }

  function crumbs(q) {
    const trail = [];
    for (let id = q.unit; id; id = (S.units[id] || {}).parent_id) trail.unshift(id);
    const nav = el("div", { class: "crumbs", id: "crumbs" });
    const top = q.unit ? el("button", { type: "button", "data-unit": "", onclick: () => drillTo(q, "") },
      label("dimensions", "all")) : el("span", { class: "here", "data-unit": "" }, label("dimensions", "all"));
    nav.append(top);
    for (const id of trail) {
      nav.append("›", id === q.unit
        ? el("span", { class: "here", "data-unit": id }, unitName(id))
        : el("button", { type: "button", "data-unit": id, onclick: () => drillTo(q, id) }, unitName(id)));
    }
    const childLevel = (S.units[(S.children[q.unit] || [])[0]] || {}).level;
    if (childLevel) nav.append(el("span", {}, ` — ${t("showing")}: ${label("org_levels", childLevel)}`));
    return nav;
  }

  function drillTo(q, unit) {
    q.unit = unit;
    writeQuery(q, true);
    render();
  }

  function about(q) {
    const info = S.catalog[q.indicator] || {};
    const st = S.status || {};
    return el("div", { class: "about-chart", id: "about" },
      el("b", {}, indName(q.indicator)), ` · ${label("period_kinds", q.kind)}`,
      q.category ? ` · ${label("categories", q.category)}` : "", ` · ${label("dimensions", q.dim)}`,
      q.dim === "org" && q.unit ? ` · ${unitName(q.unit)}` : "", el("br"),
      `${t("formula")}: ${formulaOf(info)} · ${t("unit")}: ${unitText(info.unit)} · ${t("standard")}: ` +
        info.standard,
      el("br"),
      `${t("asOf")} ${st.as_of || "?"}`,
      st.refreshed_at ? ` · ${t("refreshed")} ${new Date(st.refreshed_at).toLocaleString(locale())}` : "");
  }

  function actions(params) {
    const csv = new URLSearchParams(params);
    csv.set("format", "csv");
    const json = new URLSearchParams(params);
    return el("div", { class: "actions" },
      el("a", { id: "csv", href: `/indicators?${csv.toString()}`, download: "indicators.csv" }, t("csv")),
      el("a", { id: "api", href: `/indicators?${json.toString()}` }, `${t("apiLink")} (JSON)`));
  }

  function buildModel(q, rows, wanted) {
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const present = [...new Set(rows.map((r) => r.slice))];
    const order = wanted ? wanted.filter((s) => present.includes(s)) : present.sort((a, b) =>
      Object.keys(S.labels.slices).indexOf(a) - Object.keys(S.labels.slices).indexOf(b) || a.localeCompare(b));
    const cell = new Map(rows.map((r) => [`${r.slice}|${r.period}`, r]));
    const series = order.map((slice) => ({
      slice, name: sliceName(q.dim, slice), cells: periods.map((p) => cell.get(`${slice}|${p}`) || null),
    }));
    return { periods, series, unit: (S.catalog[q.indicator] || {}).unit, anyHidden: rows.some((r) => r.suppressed) };
  }

  const PALETTE = ["#b3261e", "#1f6fb2", "#2e7d32", "#ef8f00", "#6a3d9a", "#00838f", "#8d6e63", "#c2185b",
    "#546e7a", "#9e9d24", "#283593", "#d84315", "#00695c", "#7b1fa2", "#5d4037", "#455a64"];

  // A chart's plots: for each series a line (bars for a few yearly series) and, in a strip above the plot, a ◇ for
  // each suppressed cell, one row per series (never drawn inside the plot, where it would read as a value). `at`
  // places the plot and the strip (grid options) and numbers their axes; the main chart has one of each, the side-by-
  // side view one per unit.
  function plots(q, model, series, compact, at) {
    const labels = model.periods.map((p) => fmtPeriod(q.kind, p));
    const rows = Math.min(series.length, 8);
    const strip = !model.anyHidden ? 0 : compact ? 12 : 6 + 8 * rows;
    const marks = (s, index) => s.cells.flatMap((c, i) => (c && c.suppressed
      ? [{ value: [i, 1 - ((index % 8) + 0.5) / rows], slice: s.name, row: c }] : []));
    const axisLabel = { fontSize: compact ? 9 : 11, formatter: tickText };
    const { plot, band, axis } = at(strip);
    return {
      grid: [plot, { ...band, show: true, borderWidth: 0, backgroundColor: "#f7f8fa" }],
      xAxis: [
        { type: "category", data: labels, boundaryGap: q.kind === "year", gridIndex: axis,
          axisLabel: { hideOverlap: true, fontSize: compact ? 9 : 11 } },
        { type: "category", data: labels, boundaryGap: q.kind === "year", gridIndex: axis + 1, show: false },
      ],
      yAxis: [
        { type: "value", name: compact ? "" : unitText(model.unit), scale: q.kind !== "year" && model.unit !== "%",
          max: model.max, min: model.min, axisLabel, gridIndex: axis },
        { type: "value", min: 0, max: 1, show: false, gridIndex: axis + 1 },
      ],
      series: series.flatMap((s, index) => [
        {
          name: s.name, type: q.kind === "year" && series.length <= 6 ? "bar" : "line", connectNulls: false,
          showSymbol: model.periods.length <= 48, symbolSize: 5, slice: s.slice, xAxisIndex: axis, yAxisIndex: axis,
          itemStyle: { color: PALETTE[index % PALETTE.length] },
          data: s.cells.map((c) => (c && !c.suppressed ? c.value : null)),
        },
        {
          name: s.name, type: "scatter", xAxisIndex: axis + 1, yAxisIndex: axis + 1, symbol: "diamond",
          symbolSize: compact ? 7 : 9, z: 5, slice: s.slice, suppressedMarks: true,
          itemStyle: { color: "#ffffff", borderColor: PALETTE[index % PALETTE.length], borderWidth: 2 },
          tooltip: { trigger: "item", formatter: (p) => `${p.data.slice} · ${labels[p.data.value[0]]}<br>` +
            `◇ ${reasonText(p.data.row)}` },
          data: marks(s, index),
        },
      ]),
    };
  }

  // What the axis tooltip says at a period: each series' value, ◇ for a suppressed cell and why.
  function axisTooltip(q, model, seriesAt) {
    return (items) => {
      const i = items.length ? items[0].dataIndex : 0;
      const lines = [`<b>${fmtPeriod(q.kind, model.periods[i])}</b>`];
      const series = seriesAt(items);
      for (const s of series) {
        const c = s.cells[i];
        const text = !c ? t("noData") : c.suppressed ? `◇ ${t("suppressed")}` : fmtValue(c.value, model.unit);
        lines.push(`${s.name}: ${text}`);
      }
      const cells = series.map((s) => s.cells[i]);
      if (cells.some((c) => c && c.suppressed)) lines.push(`<i>${whyText(reasonsOf(cells))}</i>`);
      return lines.join("<br>");
    };
  }

  const baseOption = () => ({
    animation: false,
    color: PALETTE,
    textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily },
  });

  function chartOption(q, model) {
    const series = model.series;
    const top = 36;
    const parts = plots(q, model, series, false, (strip) => ({
      plot: { left: 64, right: 24, top: top + strip + 18, bottom: 64 },
      band: { left: 64, right: 24, top, height: strip },
      axis: 0,
    }));
    return {
      ...baseOption(),
      ...parts,
      tooltip: { trigger: "axis", formatter: axisTooltip(q, model, () => series), confine: true },
      legend: { type: "scroll", top: 0, data: series.map((s) => s.name),
        selected: Object.fromEntries(series.map((s, i) => [s.name, i < CHART_SERIES])) },
      dataZoom: [{ type: "inside", xAxisIndex: [0, 1] }, { type: "slider", height: 18, bottom: 8, xAxisIndex: [0, 1] }],
    };
  }

  function drawMain(node, q, model) {
    const chart = newChart(node);
    chart.setOption(chartOption(q, model));
    if (q.dim === "org") {
      chart.on("click", (p) => {
        const s = model.series[Math.floor(p.seriesIndex / 2)];
        if (s && (S.children[s.slice] || []).length) drillTo(q, s.slice);
      });
    }
  }

  // The shared scale's bounds, rounded to two significant digits (10,620 → 11,000, not 20,000, which left every
  // unit's line in the bottom half of its chart).
  const roundStep = (value) => 10 ** (Math.floor(Math.log10(value)) - 1);

  function niceCeil(value) {
    if (value <= 0) return 0;
    return Number((Math.ceil(value / roundStep(value)) * roundStep(value)).toPrecision(12));
  }

  function niceFloor(value) {
    if (value <= 0) return Math.min(0, value);
    return Number((Math.floor(value / roundStep(value)) * roundStep(value)).toPrecision(12));
  }

  // Side by side: a small chart per unit on one scale, each under its unit's heading. The units' charts are drawn
  // by one chart instance for the first screen and one for the rest, a layer over the cards with each unit's plot
  // placed on its card (.small): an instance per unit cost about a third more to draw.
  function renderMultiples(q, model) {
    const grid = el("div", { class: "multiples", id: "multiples" });
    const values = model.series.flatMap((s) => s.cells.filter((c) => c && !c.suppressed).map((c) => c.value));
    const low = values.length ? Math.min(...values) : 0;
    const shared = { ...model, max: values.length ? niceCeil(Math.max(...values)) : undefined,
      min: model.unit === "CNY" || model.unit === "days" ? niceFloor(low * 0.9) : Math.min(0, low) };
    const draw = (smalls) => drawLayer(grid, q, shared, smalls);
    for (const s of model.series) {
      const last = [...s.cells].reverse().find((c) => c);
      const canDrill = q.dim === "org" && (S.children[s.slice] || []).length > 0;
      const small = el("div", { class: "small" });
      small.series = s;
      grid.append(el("div", { class: "multiple", "data-slice": s.slice },
        el("h4", {}, el("span", {}, s.name), el("span", {},
          last ? (last.suppressed ? `◇ ${t("suppressed")}` : fmtValue(last.value, model.unit)) : "",
          canDrill ? el("button", { type: "button", class: "drill", "data-drill": s.slice,
            onclick: () => drillTo(q, s.slice) }, `${t("drill")} ›`) : null)),
        small));
      drawLater(small, draw);
    }
    return grid;
  }

  // One chart instance over the cards of `smalls` (the first screen's, or the rest's). A new window width moves
  // the cards: the view is then drawn again (the resize listener in start()).
  function drawLayer(grid, q, model, smalls) {
    const layer = el("div", { class: "multiples-layer" });
    grid.append(layer);
    const series = smalls.map((small) => small.series);
    const box = grid.getBoundingClientRect();
    const rects = smalls.map((small) => small.getBoundingClientRect());
    const top = Math.min(...rects.map((r) => r.top));
    layer.style.top = `${top - box.top}px`;
    layer.style.height = `${Math.max(...rects.map((r) => r.bottom)) - top}px`;
    const parts = rects.map((r, i) => plots(q, model, [series[i]], true, (strip) => {
      const x = r.left - box.left;
      const y = r.top - top;
      return {
        plot: { left: x + 44, top: y + 4 + strip + 6, width: r.width - 52, height: r.height - strip - 32 },
        band: { left: x + 44, top: y + 4, width: r.width - 52, height: strip },
        axis: 2 * i,
      };
    }));
    newChart(layer).setOption({
      ...baseOption(),
      tooltip: { trigger: "axis", confine: true,
        formatter: axisTooltip(q, model, (items) => [series[Math.floor(items[0].seriesIndex / 2)]]) },
      legend: { show: false },
      ...Object.fromEntries(["grid", "xAxis", "yAxis", "series"].map((key) => [key, parts.flatMap((p) => p[key])])),
    });
  }

  function renderTable(q, model) {
    const table = el("table", { id: "table" });
    table.append(el("thead", {}, el("tr", {}, el("th", {}, t("period")),
      model.series.map((s) => el("th", { "data-slice": s.slice }, s.name,
        q.dim === "org" && (S.children[s.slice] || []).length ? el("button", { type: "button", class: "drill",
          "data-drill": s.slice, onclick: () => drillTo(q, s.slice) }, "›") : null)))));
    const body = el("tbody");
    model.periods.forEach((period, i) => {
      body.append(el("tr", { "data-period": period }, el("td", {}, fmtPeriod(q.kind, period)),
        model.series.map((s) => {
          const c = s.cells[i];
          if (!c) return el("td", { class: "none", title: t("noData") }, "–");
          if (c.suppressed) return el("td", { class: "suppressed", title: reasonText(c), "data-suppressed": "1" },
            `◇ ${t("suppressed")}`);
          return el("td", { "data-value": String(c.value) }, fmtValue(c.value, model.unit));
        })));
    });
    table.append(body);
    return el("div", { class: "table-wrap" }, table);
  }

  // ---- start ---------------------------------------------------------------------------------------------------
  async function start() {
    const asked = new URLSearchParams(location.search).get("lang");
    S.lang = asked === "en" || asked === "zh" ? asked : localStorage.getItem("lang") || "zh";
    $("#lang").addEventListener("click", () => {
      S.lang = S.lang === "zh" ? "en" : "zh";
      localStorage.setItem("lang", S.lang);
      const p = new URLSearchParams(location.search);
      if (p.has("lang")) {
        p.set("lang", S.lang);
        history.replaceState(null, "", `${location.pathname}?${p.toString()}`);
      }
      render();
    });
    window.addEventListener("popstate", render);
    let redraw = null;
    window.addEventListener("resize", () => {
      if (!document.querySelector(".multiples-layer")) {
        S.charts.forEach((chart) => chart.resize());
        return;
      }
      // the side-by-side view's plots are placed on their cards, which a new width moves: drawn again once the
      // resizing stops (from the answers already in hand)
      clearTimeout(redraw);
      redraw = setTimeout(render, 200);
    });
    // A topic page's facets need only its indicator: the address's or the topic's first, asked at once beside the
    // other first calls; should the catalog name another one (an indicator it does not list), that is asked for as
    // soon as the catalog arrives.
    if (pageName() !== "overview") {
      const indicator = readQuery().indicator || FIRST_INDICATOR[pageName()];
      if (indicator) getJSON(facetsURL(indicator)).catch(() => {});
    }
    const catalogRead = getJSON("/indicators/catalog").then((catalog) => {
      for (const entry of catalog) S.catalog[entry.indicator] = entry;
      const topic = pageName();
      if (topic !== "overview") {
        const q = readQuery();
        topicIndicator(topic, q);
        if (q.indicator) getJSON(facetsURL(q.indicator)).catch(() => {});
      }
    });
    try {
      const [labels, , units, status] = await Promise.all([
        getJSON("/indicators/labels"), catalogRead, getJSON("/org-units?scope=published"),
        getJSON("/indicators/status"),
      ]);
      S.labels = labels;
      S.status = status;
      const list = Array.isArray(units) ? units : units.units || units.rows || [];
      for (const u of list) S.units[u.unit_id] = u;
      const levels = Object.keys(labels.org_levels);
      for (const u of list) { // in unit id order, as the service sends them
        const parent = u.level === levels[0] ? "" : u.parent_id;
        (S.children[parent] = S.children[parent] || []).push(u.unit_id);
      }
    } catch (error) {
      showError(error);
      $("#main").dataset.ready = "error";
      return;
    }
    await render();
  }

  start();
})();
