-- wrk script: POST a realistic, unique item per request to /v1/items.
-- Each wrk thread numbers its own items so no two requests share an id.
local texts = {
  "Hi! How much is the blue one and do you ship to Lyon?",
  "Still waiting for my refund after two weeks, this is the worst service",
  "Free bitcoin giveaway!!! click https://bit.ly/x to claim now",
  "Thanks, the package arrived today, works great",
  "Когда будет доставка? Заказ оформил в понедельник",
  "Сколько стоит подписка на год? Хочу купить два",
  "you are all idiots, fix your app",
  "Where can I buy this in Warsaw?",
}
local counter = 0
local tid = 0

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
  prefix = string.format("%d-%d", os.time(), math.random(1, 1e9))
end

function request()
  counter = counter + 1
  local text = texts[(counter % #texts) + 1]
  local body = string.format(
    '{"platform":"facebook","native_id":"bench_%s_%d","kind":"comment",' ..
    '"account":{"id":"1234567890"},"conversation":"1234567890_42",' ..
    '"author":{"id":"u%d","name":"Bench User"},"text":"%s",' ..
    '"created_at":"2026-11-23T09:40:00Z"}',
    prefix, counter, counter % 5000, text)
  return wrk.format("POST", "/v1/items", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer bench-token",
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d non2xx=%d errors=%d " ..
    "seconds=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
