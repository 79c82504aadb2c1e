// A map that forgets its oldest entries beyond a fixed capacity: what a rail
// (or an adapter) remembers about payments, in bounded memory.
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

namespace payengine::clearing {

template <class K, class V, class Hash = std::hash<K>>
class BoundedMap {
 public:
  explicit BoundedMap(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Inserts or overwrites. Overwriting keeps the entry's age.
  void put(const K& key, V value) {
    auto [it, inserted] = map_.insert_or_assign(key, std::move(value));
    (void)it;
    if (!inserted) return;
    order_.push_back(key);
    while (map_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }
  const V* find(const K& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  V* find(const K& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::unordered_map<K, V, Hash> map_;
  std::deque<K> order_;
};

}  // namespace payengine::clearing
