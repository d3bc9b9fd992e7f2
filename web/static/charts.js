// The supervision page's charts (Apache ECharts, served by this node).
// The figures are in the page's tables too: without this script, or
// without ECharts, nothing is lost but the pictures.
(function () {
  'use strict';
  var el = document.getElementById('chart-data');
  if (!el || typeof echarts === 'undefined') { return; }
  var d = JSON.parse(el.textContent);
  function draw(id, option) {
    var box = document.getElementById(id);
    if (!box) { return; }
    box.classList.add('drawn');
    var chart = echarts.init(box, null, { renderer: 'svg' });
    chart.setOption(option);
    window.addEventListener('resize', function () { chart.resize(); });
  }
  var grid = { left: 40, right: 16, top: 36, bottom: 28, containLabel: true };
  draw('chart-days', {
    title: { text: '每日收件与办结', textStyle: { fontSize: 14 } },
    // 办结 here is a decision made (准予 or 不予), not the case's state 已办结.
    tooltip: { trigger: 'axis' }, legend: { data: ['收件', '办结（已作出决定）'], top: 22, right: 0 },
    grid: { left: 40, right: 16, top: 52, bottom: 28, containLabel: true },
    xAxis: { type: 'category', data: d.days }, yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: '收件', type: 'bar', data: d.received }, { name: '办结（已作出决定）', type: 'line', data: d.decided }]
  });
  draw('chart-cards', {
    title: { text: '红黄牌（按部门）', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' }, legend: { data: ['红牌', '黄牌'], right: 0 }, grid: grid,
    xAxis: { type: 'category', data: d.depts }, yAxis: { type: 'value', minInterval: 1 },
    color: ['#c62828', '#f9a825'],
    series: [{ name: '红牌', type: 'bar', stack: 'c', data: d.red }, { name: '黄牌', type: 'bar', stack: 'c', data: d.yellow }]
  });
  draw('chart-ratings', {
    title: { text: '好差评', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'item' },
    series: [{ type: 'pie', radius: ['35%', '65%'], top: 24, data: d.ratings }]
  });
}());
