// A CPU-time sampler for V8: samples are taken after every 1/hz seconds of CPU the main thread
// has used, never while it waits. An idle service takes no samples and pays nothing; a busy one
// pays per sample what V8's own (wall-clock) sampler pays, but only for time spent running.
//
// How: a POSIX timer on the main thread's CPU clock (timer_create(pthread_getcpuclockid)) sends a
// signal to a helper thread that only waits for it (sigwaitinfo); the helper asks V8 for an
// interrupt (Isolate::RequestInterrupt, thread-safe), and the main thread, at its next interrupt
// check (a function entry or a loop back-edge), records its own stack with
// CpuProfiler::CollectSample into V8's CPU profiler, which symbolises it as for any profile.
// V8's profiler thread still runs, at a long interval (processor_interval_us): it symbolises the
// queued samples in batches, and the one wall-clock sample it takes per interval is dropped
// (only samples matched to this sampler's records are kept).
//
// Each record carries the value of slots[0] when it was taken: the request context index the JS
// side set around the request's synchronous work (0 outside a request); slots[1] is set to 1 so
// the request knows one of its samples needs its context kept.
#include <node.h>
#include <v8-profiler.h>

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

struct Record {
  int64_t before_us;  // CollectSample's own timestamp lies in [before_us, after_us]
  int64_t after_us;
  uint32_t context;
};

int64_t MonotonicMicros() {  // the clock of V8's base::TimeTicks on Linux
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

struct Sampler {
  v8::Isolate* isolate = nullptr;
  v8::CpuProfiler* profiler = nullptr;
  clockid_t main_clock{};
  pthread_t helper{};
  timer_t timer{};
  int signo = 0;
  int64_t interval_ns = 0;
  unsigned max_samples = 0;
  std::atomic<bool> running{false};
  std::atomic<bool> interrupt_pending{false};
  std::atomic<uint64_t> expirations{0};
  std::atomic<uint64_t> overruns{0};
  std::shared_ptr<v8::BackingStore> slots_store;
  std::atomic<uint32_t>* slots = nullptr;
  std::deque<Record> records;  // main thread only
  uint64_t samples_taken = 0;
  int latest = 0;  // the profile being recorded: "recoscope-<latest>"
  sem_t ready;
  int helper_error = 0;
};

// Never destroyed: a static destructor would run after V8 is gone. The environment's cleanup
// hook releases what belongs to V8 while it is still there.
Sampler& g_sampler = *new Sampler();

v8::Local<v8::String> Str(v8::Isolate* isolate, const std::string& text) {
  return v8::String::NewFromUtf8(isolate, text.c_str()).ToLocalChecked();
}

std::string Title(int profile) { return "recoscope-" + std::to_string(profile); }

void Throw(v8::Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::Error(Str(isolate, "cpu sampler: " + message)));
}

void OnInterrupt(v8::Isolate* isolate, void* data) {
  auto* s = static_cast<Sampler*>(data);
  s->interrupt_pending.store(false, std::memory_order_relaxed);
  if (!s->running.load(std::memory_order_relaxed) || s->profiler == nullptr) return;
  uint32_t context = s->slots[0].load(std::memory_order_relaxed);
  if (context != 0) s->slots[1].store(1, std::memory_order_relaxed);
  int64_t before = MonotonicMicros();
  v8::CpuProfiler::CollectSample(isolate);
  s->records.push_back({before, MonotonicMicros(), context});
  s->samples_taken++;
}

void* HelperMain(void* arg) {
  auto* s = static_cast<Sampler*>(arg);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, s->signo);
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = s->signo;
  sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  itimerspec spec{};
  spec.it_interval.tv_sec = s->interval_ns / 1000000000;
  spec.it_interval.tv_nsec = s->interval_ns % 1000000000;
  spec.it_value = spec.it_interval;
  if (timer_create(s->main_clock, &sev, &s->timer) != 0) {
    s->helper_error = errno;
  } else if (timer_settime(s->timer, 0, &spec, nullptr) != 0) {
    s->helper_error = errno;
    timer_delete(s->timer);
  }
  sem_post(&s->ready);
  if (s->helper_error != 0) return nullptr;
  while (true) {
    siginfo_t info;
    if (sigwaitinfo(&set, &info) < 0) continue;  // EINTR
    if (!s->running.load()) break;                // stop() signals this thread itself
    if (info.si_code != SI_TIMER) continue;
    s->expirations.fetch_add(1, std::memory_order_relaxed);
    int overrun = timer_getoverrun(s->timer);
    if (overrun > 0) s->overruns.fetch_add(overrun, std::memory_order_relaxed);
    // One interrupt at a time: a main thread that has not reached an interrupt check yet
    // takes one sample for the whole stretch, not a burst of them.
    if (!s->interrupt_pending.exchange(true)) s->isolate->RequestInterrupt(OnInterrupt, s);
  }
  timer_delete(s->timer);
  return nullptr;
}

void StartProfile(Sampler& s, int profile) {
  s.profiler->StartProfiling(Str(s.isolate, Title(profile)),
                             v8::CpuProfilingOptions(v8::kLeafNodeLineNumbers, s.max_samples, 0));
  s.latest = profile;
}

void StopHelper(Sampler& s) {
  if (!s.running.exchange(false)) return;
  pthread_kill(s.helper, s.signo);
  pthread_join(s.helper, nullptr);
}

void DisposeProfiler(Sampler& s) {
  if (s.profiler != nullptr) s.profiler->Dispose();
  s.profiler = nullptr;
  s.slots = nullptr;
  s.slots_store.reset();
  s.records.clear();
}

void Cleanup(void* arg) {
  auto* s = static_cast<Sampler*>(arg);
  StopHelper(*s);
  DisposeProfiler(*s);  // disposing the profiler deletes its profiles
}

v8::Local<v8::Object> Result(v8::Isolate* isolate) { return v8::Object::New(isolate); }

void Set(v8::Local<v8::Object> object, const char* key, v8::Local<v8::Value> value) {
  v8::Isolate* isolate = object->GetIsolate();
  object->Set(isolate->GetCurrentContext(), Str(isolate, key), value).Check();
}

template <typename Array, typename T>
v8::Local<Array> Typed(v8::Isolate* isolate, const std::vector<T>& values) {
  auto buffer = v8::ArrayBuffer::New(isolate, values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(buffer->Data(), values.data(), values.size() * sizeof(T));
  return Array::New(buffer, 0, values.size());
}

// start(hz, slots: Int32Array(2) on a SharedArrayBuffer, maxSamples, processorIntervalUs)
//   → { profile, startUs }
void Start(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Sampler& s = g_sampler;
  if (s.profiler != nullptr) return Throw(isolate, "already started");
  if (!info[0]->IsNumber() || !info[1]->IsInt32Array() || !info[2]->IsNumber() || !info[3]->IsNumber())
    return Throw(isolate, "start(hz, slots, maxSamples, processorIntervalUs)");
  double hz = info[0].As<v8::Number>()->Value();
  auto slots = info[1].As<v8::Int32Array>();
  if (!(hz > 0 && hz <= 10000)) return Throw(isolate, "hz must be in (0, 10000]");
  if (slots->Length() < 2 || !slots->Buffer()->IsSharedArrayBuffer())
    return Throw(isolate, "slots must be an Int32Array of 2 on a SharedArrayBuffer");
  s.isolate = isolate;
  s.interval_ns = static_cast<int64_t>(1e9 / hz);
  s.max_samples = static_cast<unsigned>(info[2].As<v8::Number>()->Value());
  s.slots_store = slots->Buffer()->GetBackingStore();
  s.slots = reinterpret_cast<std::atomic<uint32_t>*>(static_cast<char*>(s.slots_store->Data()) + slots->ByteOffset());
  s.signo = SIGRTMAX - 3;  // a real-time signal nothing else in Node uses; only the helper receives it
  int rc = pthread_getcpuclockid(pthread_self(), &s.main_clock);
  if (rc != 0) {
    DisposeProfiler(s);
    return Throw(isolate, std::string("no CPU clock for the main thread: ") + strerror(rc));
  }
  s.profiler = v8::CpuProfiler::New(isolate, v8::kDebugNaming, v8::kLazyLogging);
  s.profiler->SetSamplingInterval(static_cast<int>(info[3].As<v8::Number>()->Value()));
  StartProfile(s, s.latest + 1);
  int64_t start_us = MonotonicMicros();
  s.helper_error = 0;
  s.running = true;
  sem_init(&s.ready, 0, 0);
  // The helper inherits a mask that blocks the signal: it only ever takes it in sigwaitinfo.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, s.signo);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  rc = pthread_create(&s.helper, nullptr, HelperMain, &s);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc == 0) sem_wait(&s.ready);
  sem_destroy(&s.ready);
  if (rc != 0 || s.helper_error != 0) {
    s.running = false;
    if (rc == 0) pthread_join(s.helper, nullptr);
    DisposeProfiler(s);
    return Throw(isolate, std::string("CPU-time timer: ") + strerror(rc != 0 ? rc : s.helper_error));
  }
  static bool hooked = false;
  if (!hooked) node::AddEnvironmentCleanupHook(isolate, Cleanup, &s);
  hooked = true;
  auto result = Result(isolate);
  Set(result, "profile", v8::Integer::New(isolate, s.latest));
  Set(result, "startUs", v8::Number::New(isolate, static_cast<double>(start_us)));
  info.GetReturnValue().Set(result);
}

// rotate() → { ended, boundaryUs, profile }: the next profile starts now, while the one that
// ended keeps recording until collected — V8 only adds a queued sample to profiles that are
// still running when its profiler thread gets to it (up to one processor interval later).
void Rotate(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Sampler& s = g_sampler;
  if (s.profiler == nullptr) return Throw(isolate, "not started");
  int ended = s.latest;
  StartProfile(s, ended + 1);
  auto result = Result(isolate);
  Set(result, "ended", v8::Integer::New(isolate, ended));
  Set(result, "boundaryUs", v8::Number::New(isolate, static_cast<double>(MonotonicMicros())));
  Set(result, "profile", v8::Integer::New(isolate, s.latest));
  info.GetReturnValue().Set(result);
}

// collect(profile, fromUs, toUs) → the samples this sampler took in [fromUs, toUs) as the
// profile's call tree (parallel arrays, node 0 the root) and per-sample node index and context.
// Stops that profile; when it is the last one, the profiler is disposed.
void Collect(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  Sampler& s = g_sampler;
  if (s.profiler == nullptr) return Throw(isolate, "not started");
  if (!info[0]->IsInt32() || !info[1]->IsNumber() || !info[2]->IsNumber()) return Throw(isolate, "collect(profile, fromUs, toUs)");
  int number = info[0].As<v8::Int32>()->Value();
  auto micros = [](double value) {  // ±Infinity: an open end
    return value >= 9.2e18 ? INT64_MAX : value <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(value);
  };
  int64_t from = micros(info[1].As<v8::Number>()->Value());
  int64_t to = micros(info[2].As<v8::Number>()->Value());
  bool last = number == s.latest;
  if (last) StopHelper(s);  // no sample after the last profile's end
  v8::CpuProfile* profile = s.profiler->StopProfiling(Str(isolate, Title(number)));
  if (profile == nullptr) return Throw(isolate, "no profile " + std::to_string(number));

  std::vector<const v8::CpuProfileNode*> nodes{profile->GetTopDownRoot()};
  std::vector<int32_t> parents{-1};
  for (size_t i = 0; i < nodes.size(); i++) {
    for (int c = 0; c < nodes[i]->GetChildrenCount(); c++) {
      nodes.push_back(nodes[i]->GetChild(c));
      parents.push_back(static_cast<int32_t>(i));
    }
  }
  std::vector<int32_t> index_by_id;
  std::vector<int32_t> lines(nodes.size());
  auto names = v8::Array::New(isolate, static_cast<int>(nodes.size()));
  auto urls = v8::Array::New(isolate, static_cast<int>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); i++) {
    unsigned id = nodes[i]->GetNodeId();
    if (id >= index_by_id.size()) index_by_id.resize(id + 1, -1);
    index_by_id[id] = static_cast<int32_t>(i);
    lines[i] = nodes[i]->GetLineNumber();
    names->Set(context, static_cast<uint32_t>(i), nodes[i]->GetFunctionName()).Check();
    urls->Set(context, static_cast<uint32_t>(i), nodes[i]->GetScriptResourceName()).Check();
  }

  // V8's samples in time order against ours: each of ours was taken inside [before, after].
  // Samples matched to nothing are V8's own thread's wall-clock ones, or outside [from, to).
  std::vector<int32_t> sample_nodes;
  std::vector<uint32_t> sample_contexts;
  auto record = s.records.begin();
  int count = profile->GetSamplesCount();
  for (int i = 0; i < count; i++) {
    int64_t t = profile->GetSampleTimestamp(i);
    while (record != s.records.end() && record->after_us < t) ++record;
    if (record == s.records.end()) break;
    if (record->before_us <= t && record->before_us >= from && record->before_us < to) {
      sample_nodes.push_back(index_by_id[profile->GetSample(i)->GetNodeId()]);
      sample_contexts.push_back(record->context);
      ++record;
    }
  }
  profile->Delete();
  while (!s.records.empty() && s.records.front().before_us < to) s.records.pop_front();
  if (last) DisposeProfiler(s);

  auto result = Result(isolate);
  Set(result, "names", names);
  Set(result, "urls", urls);
  Set(result, "lines", Typed<v8::Int32Array>(isolate, lines));
  Set(result, "parents", Typed<v8::Int32Array>(isolate, parents));
  Set(result, "samples", Typed<v8::Int32Array>(isolate, sample_nodes));
  Set(result, "contexts", Typed<v8::Uint32Array>(isolate, sample_contexts));
  info.GetReturnValue().Set(result);
}

// stats() → { expirations, overruns, samplesTaken }: timer signals the helper got, expirations
// the kernel merged into one signal (the helper was late), samples the main thread recorded.
void Stats(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Sampler& s = g_sampler;
  auto result = Result(isolate);
  Set(result, "expirations", v8::Number::New(isolate, static_cast<double>(s.expirations.load())));
  Set(result, "overruns", v8::Number::New(isolate, static_cast<double>(s.overruns.load())));
  Set(result, "samplesTaken", v8::Number::New(isolate, static_cast<double>(s.samples_taken)));
  info.GetReturnValue().Set(result);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = context->GetIsolate();
  auto add = [&](const char* name, v8::FunctionCallback fn) {
    exports->Set(context, Str(isolate, name), v8::FunctionTemplate::New(isolate, fn)->GetFunction(context).ToLocalChecked()).Check();
  };
  add("start", Start);
  add("rotate", Rotate);
  add("collect", Collect);
  add("stats", Stats);
}
