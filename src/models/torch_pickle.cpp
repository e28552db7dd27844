#include "models/torch_pickle.hpp"

#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>

#include "faceage/core/error.hpp"

namespace faceage::models::detail {
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorCode::kModel, "malformed checkpoint pickle: " + what);
}

PyRef make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}

torch::ScalarType storage_dtype(const std::string& global) {
  static const std::map<std::string, torch::ScalarType> kTypes{
      {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool},
  };
  auto it = kTypes.find(global);
  if (it == kTypes.end()) malformed("unsupported storage type '" + global + "'");
  return it->second;
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, const StorageLoader& loader) : p_(data), end_(data + size), loader_(loader) {}

  PyRef run() {
    while (true) {
      const auto op = static_cast<uint8_t>(byte());
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1) malformed("stack holds " + std::to_string(stack_.size()) + " values at STOP");
    return stack_.back();
  }

 private:
  char byte() {
    if (p_ >= end_) malformed("truncated");
    return *p_++;
  }
  const char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) malformed("truncated");
    const char* at = p_;
    p_ += n;
    return at;
  }
  template <class T>
  T read_le() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    if (p_ >= end_) malformed("unterminated GLOBAL");
    std::string out(start, p_);
    ++p_;
    return out;
  }
  PyRef pop() {
    if (stack_.size() <= floor()) malformed("stack underflow");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    if (stack_.empty()) malformed("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<PyRef> pop_to_mark() {
    if (marks_.empty()) malformed("no MARK");
    const size_t start = marks_.back();
    marks_.pop_back();
    if (start > stack_.size()) malformed("bad MARK");
    std::vector<PyRef> items(std::make_move_iterator(stack_.begin() + start), std::make_move_iterator(stack_.end()));
    stack_.resize(start);
    return items;
  }
  void memo_put(size_t id) {
    if (id > (1u << 26)) malformed("memo index too large");
    if (memo_.size() <= id) memo_.resize(id + 1);
    memo_[id] = top();
  }
  PyRef memo_get(size_t id) {
    if (id >= memo_.size() || !memo_[id]) malformed("memo index " + std::to_string(id) + " unset");
    return memo_[id];
  }
  void push_int(int64_t v) {
    auto r = make(PyValue::Kind::kInt);
    r->i = v;
    stack_.push_back(std::move(r));
  }
  void push_string(const char* data, size_t n) {
    auto r = make(PyValue::Kind::kString);
    r->s.assign(data, n);
    stack_.push_back(std::move(r));
  }
  void push_tuple(std::vector<PyRef> items) {
    auto r = make(PyValue::Kind::kTuple);
    r->items = std::move(items);
    stack_.push_back(std::move(r));
  }
  static void set_items(PyValue& dict, std::vector<PyRef>& kv) {
    if (dict.kind != PyValue::Kind::kDict) return;  // items of an opaque object: ignored
    if (kv.size() % 2 != 0) malformed("odd SETITEMS");
    for (size_t k = 0; k < kv.size(); k += 2) dict.entries.emplace_back(kv[k], kv[k + 1]);
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: byte(); break;                                   // PROTO
      case 0x95: take(8); break;                                  // FRAME
      case '(': marks_.push_back(stack_.size()); break;           // MARK
      case '0': pop(); break;                                     // POP
      case '1': pop_to_mark(); break;                             // POP_MARK
      case '2': {                                                 // DUP
        PyRef copy = top();
        stack_.push_back(std::move(copy));
        break;
      }
      case 'N': stack_.push_back(make(PyValue::Kind::kNone)); break;
      case 0x88:
      case 0x89: {
        auto r = make(PyValue::Kind::kBool);
        r->b = op == 0x88;
        stack_.push_back(std::move(r));
        break;
      }
      case 'J': push_int(read_le<int32_t>()); break;   // BININT
      case 'K': push_int(read_le<uint8_t>()); break;   // BININT1
      case 'M': push_int(read_le<uint16_t>()); break;  // BININT2
      case 0x8a: {                                     // LONG1
        const auto n = static_cast<uint8_t>(byte());
        const char* bytes = take(n);
        if (n > 8) malformed("integer wider than 64 bits");
        uint64_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(bytes[k]);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
        push_int(static_cast<int64_t>(v));
        break;
      }
      case 'G': {  // BINFLOAT, big endian
        const char* b = take(8);
        char le[8];
        for (int k = 0; k < 8; ++k) le[k] = b[7 - k];
        auto r = make(PyValue::Kind::kFloat);
        std::memcpy(&r->f, le, 8);
        stack_.push_back(std::move(r));
        break;
      }
      case 'X':    // BINUNICODE
      case 'B': {  // BINBYTES
        const auto n = read_le<uint32_t>();
        push_string(take(n), n);
        break;
      }
      case 0x8c:   // SHORT_BINUNICODE
      case 'C':    // SHORT_BINBYTES
      case 'U': {  // SHORT_BINSTRING
        const auto n = static_cast<uint8_t>(byte());
        push_string(take(n), n);
        break;
      }
      case 'T': {  // BINSTRING
        const auto n = read_le<uint32_t>();
        push_string(take(n), n);
        break;
      }
      case 0x8d: {  // BINUNICODE8
        const auto n = read_le<uint64_t>();
        push_string(take(n), n);
        break;
      }
      case ')': push_tuple({}); break;
      case 't': push_tuple(pop_to_mark()); break;
      case 0x85: push_tuple({pop()}); break;
      case 0x86: {
        auto b = pop();
        auto a = pop();
        push_tuple({a, b});
        break;
      }
      case 0x87: {
        auto c = pop();
        auto b = pop();
        auto a = pop();
        push_tuple({a, b, c});
        break;
      }
      case ']': stack_.push_back(make(PyValue::Kind::kList)); break;
      case 'l': {
        auto r = make(PyValue::Kind::kList);
        r->items = pop_to_mark();
        stack_.push_back(std::move(r));
        break;
      }
      case 'a': {  // APPEND
        auto v = pop();
        top()->items.push_back(std::move(v));
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        auto& list = top()->items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case '}': stack_.push_back(make(PyValue::Kind::kDict)); break;
      case 'd': {
        auto items = pop_to_mark();
        auto r = make(PyValue::Kind::kDict);
        set_items(*r, items);
        stack_.push_back(std::move(r));
        break;
      }
      case 's': {  // SETITEM
        auto v = pop();
        auto k = pop();
        std::vector<PyRef> kv{k, v};
        set_items(*top(), kv);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        set_items(*top(), items);
        break;
      }
      case 'q': memo_put(read_le<uint8_t>()); break;   // BINPUT
      case 'r': memo_put(read_le<uint32_t>()); break;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;        // MEMOIZE
      case 'h': stack_.push_back(memo_get(read_le<uint8_t>())); break;
      case 'j': stack_.push_back(memo_get(read_le<uint32_t>())); break;
      case 'c': {  // GLOBAL
        auto module = line();
        auto name = line();
        auto r = make(PyValue::Kind::kGlobal);
        r->s = module + "." + name;
        stack_.push_back(std::move(r));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        auto module = pop();
        auto r = make(PyValue::Kind::kGlobal);
        r->s = module->s + "." + name->s;
        stack_.push_back(std::move(r));
        break;
      }
      case 'R': {  // REDUCE
        auto args = pop();
        auto callable = pop();
        stack_.push_back(reduce(*callable, *args));
        break;
      }
      case 0x81: {  // NEWOBJ
        auto args = pop();
        auto cls = pop();
        stack_.push_back(reduce(*cls, *args));
        break;
      }
      case 'b': pop(); break;  // BUILD: object state (e.g. an OrderedDict's _metadata) is not needed
      case 'Q': {              // BINPERSID
        auto pid = pop();
        stack_.push_back(persistent_load(*pid));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", op);
        malformed(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  PyRef persistent_load(const PyValue& pid) {
    if (pid.kind != PyValue::Kind::kTuple || pid.items.size() < 5 || pid.items[0]->s != "storage") {
      malformed("unknown persistent id");
    }
    const std::string& key = pid.items[2]->s;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const auto dtype = storage_dtype(pid.items[1]->s);
    const int64_t numel = pid.items[4]->i;
    if (numel < 0) malformed("negative storage size");
    auto r = make(PyValue::Kind::kTensor);
    if (numel == 0) {
      r->tensor = torch::empty({0}, dtype);
    } else {
      auto [ptr, bytes] = loader_(key);
      const size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (bytes != expected) {
        malformed("storage " + key + " holds " + std::to_string(bytes) + " bytes, expected " + std::to_string(expected));
      }
      // The tensor owns the record's buffer: no copy.
      auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
      void* raw = holder->get();
      r->tensor = torch::from_blob(raw, {numel}, [holder](void*) {}, torch::TensorOptions().dtype(dtype));
    }
    storages_.emplace(key, r);
    return r;
  }

  static std::vector<int64_t> int_tuple(const PyValue& v) {
    if (v.kind != PyValue::Kind::kTuple && v.kind != PyValue::Kind::kList) malformed("expected a tuple of ints");
    std::vector<int64_t> out;
    for (const auto& item : v.items) {
      if (item->kind != PyValue::Kind::kInt) malformed("expected a tuple of ints");
      out.push_back(item->i);
    }
    return out;
  }

  static PyRef rebuild_tensor(const PyValue& args) {
    if (args.items.size() < 4 || args.items[0]->kind != PyValue::Kind::kTensor || args.items[1]->kind != PyValue::Kind::kInt) {
      malformed("bad _rebuild_tensor arguments");
    }
    const auto& storage = args.items[0]->tensor;
    const int64_t offset = args.items[1]->i;
    const auto sizes = int_tuple(*args.items[2]);
    const auto strides = int_tuple(*args.items[3]);
    if (sizes.size() != strides.size()) malformed("tensor sizes and strides differ in length");
    // Bounds check before as_strided: a corrupt file must not read past the storage.
    int64_t last = offset;
    bool empty = false;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) malformed("negative tensor size or stride");
      if (sizes[d] == 0) empty = true;
      else last += (sizes[d] - 1) * strides[d];
    }
    if (offset < 0 || (!empty && last >= storage.numel())) malformed("tensor view exceeds its storage");
    auto r = make(PyValue::Kind::kTensor);
    r->tensor = empty ? torch::empty(sizes, storage.options()) : storage.as_strided(sizes, strides, offset);
    return r;
  }

  PyRef reduce(const PyValue& callable, const PyValue& args) {
    const std::string& name = callable.s;
    if (callable.kind == PyValue::Kind::kGlobal) {
      if (name == "collections.OrderedDict") {
        auto dict = make(PyValue::Kind::kDict);
        // OrderedDict([(k, v), ...]) form.
        if (!args.items.empty() && args.items[0]->kind == PyValue::Kind::kList) {
          for (const auto& pair : args.items[0]->items) {
            if (pair->kind == PyValue::Kind::kTuple && pair->items.size() == 2) {
              dict->entries.emplace_back(pair->items[0], pair->items[1]);
            }
          }
        }
        return dict;
      }
      if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
        return rebuild_tensor(args);
      }
      // LibTorch's own pickler (torch::pickle_save) tags containers with their TorchScript type.
      if (name == "torch.jit._pickle.restore_type_tag" || name.rfind("torch.jit._pickle.build_", 0) == 0) {
        if (args.items.empty()) malformed("bad " + name + " arguments");
        return args.items[0];
      }
      if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
        if (args.items.empty() || args.items[0]->kind != PyValue::Kind::kTensor) malformed("bad _rebuild_parameter");
        return args.items[0];
      }
      if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
        // (func, type, args, state): rebuild the plain tensor the subclass wraps.
        if (args.items.size() >= 3 && args.items[0]->kind == PyValue::Kind::kGlobal) {
          return reduce(*args.items[0], *args.items[2]);
        }
        malformed("bad _rebuild_from_type arguments");
      }
    }
    auto obj = make(PyValue::Kind::kObject);
    obj->s = name;
    obj->items = args.items;
    return obj;
  }

  const char* p_;
  const char* end_;
  const StorageLoader& loader_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::vector<PyRef> memo_;
  std::map<std::string, PyRef> storages_;
};

}  // namespace

PyRef unpickle(const char* data, size_t size, const StorageLoader& load_storage) {
  Unpickler unpickler(data, size, load_storage);
  return unpickler.run();
}

}  // namespace faceage::models::detail
