-- POST a login with the admin's credentials.
request = function()
  local body = string.format('{"email":"%s","password":"%s"}', os.getenv("EMAIL"), os.getenv("PASSWORD"))
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
