// A CPU-time sampler for V8 that does not start V8's CPU profiler: samples are taken after every
// 1/hz seconds of CPU the main thread has used, never while it waits, and the stacks are walked
// and named here.
//
// Why not V8's profiler: V8's own sampler alone, without any of ours, cost 3.4-3.6 % CPU per
// request on /reco/knn here (bench:profiling --floor), over this project's 3 % budget; and while
// any v8::CpuProfiler runs, V8 is in profiling mode (optimized code calls C++ callbacks through
// a slower builtin, the NoProfiling protector being invalidated), which this sampler avoids.
//
// How: a POSIX timer on the main thread's CPU clock (timer_create(pthread_getcpuclockid)) sends a
// signal to a helper thread that only waits for it (sigwaitinfo); the helper asks V8 for an
// interrupt (Isolate::RequestInterrupt, thread-safe), and the main thread, at its next interrupt
// check (a function entry or a loop back-edge), walks its own stack (Isolate::GetStackSample:
// code addresses, bytecode addresses for interpreted frames) and names each frame from a map of
// code ranges kept by a v8::CodeEventHandler (every code object V8 creates or moves, and those
// that exist when sampling starts). A frame is named when the stack is sampled, so code that moves
// or is freed later cannot be misnamed. Only JavaScript frames are kept (builtins, stubs and
// handlers are charged to the JavaScript frame that called them, as in V8's profiles); a function
// inlined by the optimizing compiler is charged to the function it was inlined into.
//
// Each sample carries the value of slots[0] when it was taken: the request context index the JS
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
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kMaxFrames = 128;
constexpr uint32_t kNotJavaScript = UINT32_MAX;

struct Function {
  std::string name;
  std::string url;
  int line;
};

struct CodeRange {
  size_t size;
  uint32_t function;  // index into functions, or kNotJavaScript
};

// Code ranges by start address, and the functions they belong to. Written by V8's code events
// (on the main thread, or on GC threads for moves while the main thread is paused), read by the
// main thread when it samples: one mutex.
class CodeMap : public v8::CodeEventHandler {
 public:
  explicit CodeMap(v8::Isolate* isolate) : v8::CodeEventHandler(isolate), isolate_(isolate) {}

  void Handle(v8::CodeEvent* event) override {
    uintptr_t start = event->GetCodeStartAddress();
    size_t size = event->GetCodeSize();
    if (event->GetCodeType() == v8::kRelocationType) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto old = ranges_.find(event->GetPreviousCodeStartAddress());
      if (old == ranges_.end()) return;
      CodeRange range = old->second;
      ranges_.erase(old);
      Insert(start, range);
      return;
    }
    uint32_t function = kNotJavaScript;
    if (IsJavaScript(event->GetCodeType())) {
      v8::HandleScope scope(isolate_);
      function = Intern(Utf8(event->GetFunctionName()), Utf8(event->GetScriptName()), event->GetScriptLine());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Insert(start, {size, function});
  }

  // The function of the code at `address`, or kNotJavaScript. Caller holds lock().
  uint32_t Lookup(uintptr_t address) const {
    auto it = ranges_.upper_bound(address);
    if (it == ranges_.begin()) return kNotJavaScript;
    --it;
    return address < it->first + it->second.size ? it->second.function : kNotJavaScript;
  }

  std::mutex& lock() { return mutex_; }
  const Function& function(uint32_t index) const { return functions_[index]; }

 private:
  static bool IsJavaScript(v8::CodeEventType type) {
    switch (type) {
      case v8::kFunctionType:
      case v8::kInterpretedFunctionType:
      case v8::kLazyCompileType:
      case v8::kEvalType:
      case v8::kScriptType:
        return true;
      default:
        return false;
    }
  }

  std::string Utf8(v8::Local<v8::String> text) {
    if (text.IsEmpty()) return "";
    v8::String::Utf8Value value(isolate_, text);
    return *value == nullptr ? "" : std::string(*value, value.length());
  }

  uint32_t Intern(std::string name, std::string url, int line) {
    std::string key = name + '\0' + url + '\0' + std::to_string(line);
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = function_ids_.try_emplace(std::move(key), static_cast<uint32_t>(functions_.size()));
    if (added) functions_.push_back({std::move(name), std::move(url), line});
    return it->second;
  }

  // New code replaces whatever the map still has in its range: code is never reported freed,
  // so a range overlapping new code is stale.
  void Insert(uintptr_t start, CodeRange range) {
    auto it = ranges_.lower_bound(start);
    if (it != ranges_.begin()) {
      auto before = std::prev(it);
      if (before->first + before->second.size > start) it = before;
    }
    while (it != ranges_.end() && it->first < start + std::max<size_t>(range.size, 1)) it = ranges_.erase(it);
    ranges_.emplace(start, range);
  }

  v8::Isolate* isolate_;
  std::mutex mutex_;
  std::map<uintptr_t, CodeRange> ranges_;
  std::vector<Function> functions_;
  std::unordered_map<std::string, uint32_t> function_ids_;
};

struct Sample {
  uint32_t context;
  uint32_t first_frame;  // into Sampler::frames, leaf first
  uint32_t frame_count;
};

struct Sampler {
  v8::Isolate* isolate = nullptr;
  CodeMap* code_map = nullptr;
  clockid_t main_clock{};
  pthread_t helper{};
  timer_t timer{};
  int signo = 0;
  int64_t interval_ns = 0;
  std::atomic<bool> running{false};
  std::atomic<bool> interrupt_pending{false};
  std::atomic<uint64_t> expirations{0};
  std::atomic<uint64_t> overruns{0};
  std::shared_ptr<v8::BackingStore> slots_store;
  std::atomic<uint32_t>* slots = nullptr;
  // Main thread only: the samples since the last collect() and their frames' functions.
  std::vector<Sample> samples;
  std::vector<uint32_t> frames;
  sem_t ready;
  int helper_error = 0;
};

// Never destroyed: a static destructor would run after V8 is gone. The environment's cleanup
// hook releases what belongs to V8 while it is still there.
Sampler& g_sampler = *new Sampler();

v8::Local<v8::String> Str(v8::Isolate* isolate, const std::string& text) {
  return v8::String::NewFromUtf8(isolate, text.c_str(), v8::NewStringType::kNormal, static_cast<int>(text.size())).ToLocalChecked();
}

void Throw(v8::Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::Error(Str(isolate, "cpu sampler: " + message)));
}

void OnInterrupt(v8::Isolate* isolate, void* data) {
  auto* s = static_cast<Sampler*>(data);
  s->interrupt_pending.store(false, std::memory_order_relaxed);
  if (!s->running.load(std::memory_order_relaxed) || s->code_map == nullptr) return;
  uint32_t context = s->slots[0].load(std::memory_order_relaxed);
  if (context != 0) s->slots[1].store(1, std::memory_order_relaxed);
  // No registers to start from: the walk starts at the exit frame through which V8 called this
  // interrupt, the JavaScript frame that reached the interrupt check on top.
  v8::RegisterState registers;
  registers.pc = nullptr;
  registers.fp = &registers;
  registers.sp = &registers;
  void* addresses[kMaxFrames];
  v8::SampleInfo info{};
  isolate->GetStackSample(registers, addresses, kMaxFrames, &info);
  auto first = static_cast<uint32_t>(s->frames.size());
  {
    std::lock_guard<std::mutex> lock(s->code_map->lock());
    for (size_t i = 0; i < info.frames_count; i++) {
      uint32_t function = s->code_map->Lookup(reinterpret_cast<uintptr_t>(addresses[i]));
      if (function != kNotJavaScript) s->frames.push_back(function);
    }
  }
  s->samples.push_back({context, first, static_cast<uint32_t>(s->frames.size()) - first});
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

void StopHelper(Sampler& s) {
  if (!s.running.exchange(false)) return;
  pthread_kill(s.helper, s.signo);
  pthread_join(s.helper, nullptr);
}

void Release(Sampler& s) {
  if (s.code_map != nullptr) {
    s.code_map->Disable();
    delete s.code_map;
  }
  s.code_map = nullptr;
  s.slots = nullptr;
  s.slots_store.reset();
  s.samples.clear();
  s.frames.clear();
}

void Cleanup(void* arg) {
  auto* s = static_cast<Sampler*>(arg);
  StopHelper(*s);
  Release(*s);
}

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

// start(hz, slots: Int32Array(2) on a SharedArrayBuffer)
void Start(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Sampler& s = g_sampler;
  if (s.code_map != nullptr) return Throw(isolate, "already started");
  if (!info[0]->IsNumber() || !info[1]->IsInt32Array()) return Throw(isolate, "start(hz, slots)");
  double hz = info[0].As<v8::Number>()->Value();
  auto slots = info[1].As<v8::Int32Array>();
  if (!(hz > 0 && hz <= 10000)) return Throw(isolate, "hz must be in (0, 10000]");
  if (slots->Length() < 2 || !slots->Buffer()->IsSharedArrayBuffer())
    return Throw(isolate, "slots must be an Int32Array of 2 on a SharedArrayBuffer");
  s.isolate = isolate;
  s.interval_ns = static_cast<int64_t>(1e9 / hz);
  s.signo = SIGRTMAX - 3;  // a real-time signal nothing else in Node uses; only the helper receives it
  int rc = pthread_getcpuclockid(pthread_self(), &s.main_clock);
  if (rc != 0) return Throw(isolate, std::string("no CPU clock for the main thread: ") + strerror(rc));
  s.slots_store = slots->Buffer()->GetBackingStore();
  s.slots = reinterpret_cast<std::atomic<uint32_t>*>(static_cast<char*>(s.slots_store->Data()) + slots->ByteOffset());
  s.code_map = new CodeMap(isolate);
  s.code_map->Enable();  // reports the code that exists now, then every code object created or moved
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
    Release(s);
    return Throw(isolate, std::string("CPU-time timer: ") + strerror(rc != 0 ? rc : s.helper_error));
  }
  static bool hooked = false;
  if (!hooked) node::AddEnvironmentCleanupHook(isolate, Cleanup, &s);
  hooked = true;
}

// collect(last) → { names, urls, lines, parents, samples, contexts }: the samples taken
// since the previous collect() as a call tree (parallel arrays, node 0 the root) and, per sample,
// its leaf node and context. `last` stops sampling first and releases the code map.
void Collect(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  Sampler& s = g_sampler;
  if (s.code_map == nullptr) return Throw(isolate, "not started");
  bool last = info[0]->IsTrue();
  if (last) StopHelper(s);

  // The call tree: a node per (parent node, function), root first.
  std::vector<uint32_t> node_function{kNotJavaScript};
  std::vector<int32_t> parents{-1};
  std::map<std::pair<int32_t, uint32_t>, int32_t> children;
  std::vector<int32_t> sample_nodes;
  std::vector<uint32_t> sample_contexts;
  sample_nodes.reserve(s.samples.size());
  sample_contexts.reserve(s.samples.size());
  for (const Sample& sample : s.samples) {
    int32_t node = 0;
    for (uint32_t i = sample.frame_count; i-- > 0;) {  // root side first
      uint32_t function = s.frames[sample.first_frame + i];
      auto [it, added] = children.try_emplace({node, function}, static_cast<int32_t>(parents.size()));
      if (added) {
        parents.push_back(node);
        node_function.push_back(function);
      }
      node = it->second;
    }
    sample_nodes.push_back(node);
    sample_contexts.push_back(sample.context);
  }
  s.samples.clear();
  s.frames.clear();

  // Copied out under the lock, named outside it: creating V8 strings can run the GC, whose code
  // moves take the same lock.
  std::vector<Function> functions(parents.size(), Function{"(root)", "", 0});
  {
    std::lock_guard<std::mutex> lock(s.code_map->lock());
    for (size_t i = 1; i < parents.size(); i++) functions[i] = s.code_map->function(node_function[i]);
  }
  auto names = v8::Array::New(isolate, static_cast<int>(parents.size()));
  auto urls = v8::Array::New(isolate, static_cast<int>(parents.size()));
  std::vector<int32_t> lines(parents.size(), 0);
  for (size_t i = 0; i < parents.size(); i++) {
    const Function& fn = functions[i];
    names->Set(context, static_cast<uint32_t>(i), Str(isolate, fn.name.empty() ? "(anonymous)" : fn.name)).Check();
    urls->Set(context, static_cast<uint32_t>(i), Str(isolate, fn.url)).Check();
    lines[i] = fn.line;
  }
  if (last) Release(s);

  auto result = v8::Object::New(isolate);
  Set(result, "names", names);
  Set(result, "urls", urls);
  Set(result, "lines", Typed<v8::Int32Array>(isolate, lines));
  Set(result, "parents", Typed<v8::Int32Array>(isolate, parents));
  Set(result, "samples", Typed<v8::Int32Array>(isolate, sample_nodes));
  Set(result, "contexts", Typed<v8::Uint32Array>(isolate, sample_contexts));
  info.GetReturnValue().Set(result);
}

// stats() → { expirations, overruns }: timer signals the helper got, expirations the kernel
// merged into one signal (the helper was late).
void Stats(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Sampler& s = g_sampler;
  auto result = v8::Object::New(isolate);
  Set(result, "expirations", v8::Number::New(isolate, static_cast<double>(s.expirations.load())));
  Set(result, "overruns", v8::Number::New(isolate, static_cast<double>(s.overruns.load())));
  info.GetReturnValue().Set(result);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = context->GetIsolate();
  auto add = [&](const char* name, v8::FunctionCallback fn) {
    exports->Set(context, Str(isolate, name), v8::FunctionTemplate::New(isolate, fn)->GetFunction(context).ToLocalChecked()).Check();
  };
  add("start", Start);
  add("collect", Collect);
  add("stats", Stats);
}
