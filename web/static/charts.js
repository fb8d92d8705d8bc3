// Charts (web/charts.py) drawn with Apache ECharts from each figure's JSON block: tooltips, zoom on
// the trend, export as image. Tooltips are drawn on the canvas (renderMode "richText"): ECharts'
// HTML tooltips carry style attributes, which the Content-Security-Policy (style-src 'self') refuses.
"use strict";

(() => {
  const COLOURS = {current: "#1f6feb", previous: "#b8c2d3", warn: "#c62828"};
  const charts = [];

  function cell(params, spec) {
    const series = spec.series[params.seriesIndex];
    return series && series.cells[params.dataIndex];
  }

  function common(spec) {
    return {
      animation: false,
      tooltip: {trigger: "item", renderMode: "richText", formatter: (p) => (cell(p, spec) || {}).title || ""},
      toolbox: {right: 4, top: 0, feature: {saveAsImage: {title: spec.saveTitle, name: spec.caption}}},
      legend: spec.series.length > 1 ? {top: 0, left: 0, data: spec.series.map((s) => s.name)} : undefined,
    };
  }

  function bars(spec) {
    const counts = spec.series.every((s) => s.cells.every((c) => !c || Number.isInteger(c.value)));
    return Object.assign(common(spec), {
      grid: {left: 16, right: 48, top: spec.series.length > 1 ? 28 : 24, bottom: 8, containLabel: true},
      xAxis: {type: "value", min: 0, minInterval: counts ? 1 : 0, splitLine: {lineStyle: {type: "dashed"}}},
      yAxis: {type: "category", inverse: true, data: spec.labels, axisTick: {show: false},
              axisLabel: {width: 180, overflow: "truncate"}},
      series: spec.series.map((s) => ({
        type: "bar", name: s.name, barMaxWidth: 16, itemStyle: {color: COLOURS[s.key] || COLOURS.current},
        data: s.cells.map((c) => (c ? c.value : null)),
        label: {show: true, position: "right", formatter: (p) => (cell(p, spec) || {}).shown || ""},
      })),
    });
  }

  function trend(spec) {
    const s = spec.series[0];
    return Object.assign(common(spec), {
      grid: {left: 8, right: 64, top: 28, bottom: spec.labels.length > 6 ? 56 : 16, containLabel: true},
      xAxis: {type: "category", data: spec.labels, boundaryGap: true},
      yAxis: {type: "value", min: spec.floor, max: 100},
      dataZoom: spec.labels.length > 6 ? [{type: "inside"}, {type: "slider"}] : [{type: "inside"}],
      series: [{
        type: "line", name: s.name, symbolSize: 8, itemStyle: {color: COLOURS.current},
        data: s.cells.map((c) => c.value),
        label: {show: true, position: "top", formatter: (p) => (cell(p, spec) || {}).shown || ""},
        markLine: {silent: true, symbol: "none", lineStyle: {type: "dashed", color: "#9aa3b2"},
                   label: {position: "end", formatter: (p) => p.name},
                   data: spec.bands.map((b) => ({name: b.name, yAxis: b.bound}))},
      }],
    });
  }

  for (const figure of document.querySelectorAll("figure[data-chart]")) {
    const spec = JSON.parse(figure.querySelector("script.chart-spec").textContent);
    if (!spec.labels.length) continue;
    spec.saveTitle = figure.dataset.saveTitle;
    const canvas = figure.querySelector(".chart-canvas");
    const rows = spec.kind === "bars" ? spec.labels.length * Math.max(1, spec.series.length) : 0;
    canvas.classList.add("drawn");
    if (rows) canvas.style.height = Math.max(160, 40 + rows * 22) + "px";
    const chart = echarts.init(canvas, null, {renderer: "canvas"});
    chart.setOption(spec.kind === "trend" ? trend(spec) : bars(spec));
    figure.chart = chart;
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
