// The site's only script (the pages' CSP is script-src 'self': no inline scripts). Every page
// works without it; each part below only runs where its elements are.
(function () {
  // Tell the server this browser's UTC offset (minutes east of UTC), used to show times when
  // the viewer has not chosen a time zone in their profile.
  var off = -new Date().getTimezoneOffset();
  document.cookie = "tz_offset=" + off + "; path=/; max-age=31536000; SameSite=Lax";

  // Invitation page: the password checklist, ticked as the password is typed, and Show/Hide.
  var pw = document.getElementById('password');
  var rules = document.getElementById('rules');
  if (pw && rules) {
    var min = parseInt(rules.dataset.min, 10) || 0;
    var tests = {
      upper: function (v) { return /\p{Lu}/u.test(v); },
      lower: function (v) { return /\p{Ll}/u.test(v); },
      digit: function (v) { return /[0-9]/.test(v); },
      length: function (v) { return Array.from(v).length >= min; }
    };
    var tick = function () {
      rules.querySelectorAll('li').forEach(function (li) {
        var t = tests[li.dataset.rule];
        if (t) { li.classList.toggle('met', t(pw.value)); }
      });
    };
    pw.addEventListener('input', tick);
    tick();
    var show = document.getElementById('show');
    if (show) {
      show.hidden = false;
      show.addEventListener('click', function () {
        var hidden = pw.type === 'password';
        pw.type = hidden ? 'text' : 'password';
        show.textContent = hidden ? 'Hide' : 'Show';
      });
    }
  }

  // Invitation link page: Copy.
  var copy = document.getElementById('copy'), link = document.getElementById('link');
  if (copy && link) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      link.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(link.value); } else { document.execCommand('copy'); }
      copy.textContent = 'Copied';
    });
  }
})();
