// Tell the server this browser's UTC offset (minutes east of UTC), used to show times when the
// viewer has not chosen a time zone in their profile. Nothing else needs JavaScript.
(function () {
  var off = -new Date().getTimezoneOffset();
  document.cookie = "tz_offset=" + off + "; path=/; max-age=31536000; SameSite=Lax";
})();
