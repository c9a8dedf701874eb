// overview-alarms.js — the overview's alarm box: firing, acknowledged, pending and silenced alarms
// with the acknowledge button, so a shifter acts without leaving the overview. Polls every 2 s.
import { $, api, every } from '/lib.js';
import { renderActive } from '/alarmui.js';
import { on } from '/stream.js';

async function refresh() {
  try {
    const res = await api('/api/v1/alarms');
    renderActive($('overview-alarms'), $('overview-quiet'), res.alarms, refresh);
  } catch (e) {
    /* the overview's own poll shows the connection state */
  }
}

every(2000, refresh);
on('alarm', refresh); // a transition shows at once
on('reset', refresh);
