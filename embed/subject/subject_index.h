#pragma once
// SubjectIndex: subscriptions keyed by subject pattern (a token trie with '*'
// and '>' wildcards and queue groups) plus a bounded cache of match results
// per literal subject, evicted in CLOCK (second-chance) order. Insert and
// Remove invalidate exactly the cached subjects the changed pattern matches
// (one lookup for a literal pattern, a scan of the cache for a wildcard one,
// as nats-server does). Not thread-safe: the owner serialises all calls.
// `Value` is a small handle (a pointer, an id): cheap to copy and
// equality-comparable.
//
//   SubjectIndex<Session*> index;
//   EMBED_RETURN_IF_ERROR(index.Insert("orders.*", "", session));
//   auto result = index.Match("orders.created");  // result->plain == {session}

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embed/base/status.h"
#include "embed/subject/subject.h"

namespace embed::subject {

// The subscriptions matching one literal subject.
template <typename Value>
struct MatchResult {
  // Every matching non-queue subscription, in insertion order.
  std::vector<Value> plain;
  // One entry per distinct queue name among the matching queue subscriptions,
  // grouped by name across all matching patterns (nats-wire §1.14). Members are
  // in insertion order; groups are ordered by their oldest member.
  std::vector<std::vector<Value>> queue_groups;

  // True when nothing matched.
  bool empty() const { return plain.empty() && queue_groups.empty(); }
};

// Counters since construction (nats-server reports these in /subsz).
struct SubjectIndexStats {
  std::uint64_t inserts = 0;     // successful Insert calls
  std::uint64_t removes = 0;     // successful Remove calls
  std::uint64_t matches = 0;     // Match calls
  std::uint64_t cache_hits = 0;  // Match calls served from the cache
};

template <typename Value>
class SubjectIndex {
 public:
  // `max_cache_entries` bounds the match cache (0 disables it). When it is
  // full, a subject not matched since the eviction sweep last passed it is
  // evicted (CLOCK: close to least recently used, with no bookkeeping on a
  // hit beyond one flag). `limits` bound inserted subjects.
  explicit SubjectIndex(std::size_t max_cache_entries = 4096, const SubjectLimits& limits = {})
      : max_cache_entries_(max_cache_entries),
        limits_(limits),
        empty_result_(std::make_shared<MatchResult<Value>>()) {}

  SubjectIndex(const SubjectIndex&) = delete;
  SubjectIndex& operator=(const SubjectIndex&) = delete;

  // Adds a subscription of `value` to `subject` (which may have wildcards), in
  // queue group `queue_group` or, when it is empty, as a plain subscription.
  // The same value may be inserted more than once. The queue name is not
  // validated here. Returns kInvalidArgument for an invalid subscribe subject.
  Status Insert(std::string_view subject, std::string_view queue_group, Value value);

  // Removes one (the oldest) subscription equal to (subject, queue_group,
  // value). Returns false if there is none.
  bool Remove(std::string_view subject, std::string_view queue_group, const Value& value);

  // Returns the subscriptions matching literal subject `subject`. A '*' or
  // '>' token in `subject` is looked up literally, so it only reaches
  // wildcard subscriptions; a subject with an empty token matches nothing.
  // The result is shared and immutable, so a caller may keep it while the
  // index changes (it then describes the index as it was).
  std::shared_ptr<const MatchResult<Value>> Match(std::string_view subject);

  // Number of subscriptions.
  std::size_t size() const { return size_; }
  // Number of cached subjects.
  std::size_t cache_size() const { return cache_.size(); }
  // Increases on every Insert and Remove that changes the index.
  std::uint64_t generation() const { return generation_; }
  // Operation counters, for monitoring.
  const SubjectIndexStats& stats() const { return stats_; }

 private:
  struct Entry {
    Value value;
    std::uint64_t sequence;  // insertion order across the whole index
  };
  struct QueueGroup {
    std::string name;
    std::vector<Entry> members;
  };
  struct Node {
    std::string token;  // this node's key in its parent
    // Literal children, keyed by views of child->token (nodes never move).
    std::unordered_map<std::string_view, std::unique_ptr<Node>> children;
    std::unique_ptr<Node> single_wildcard;  // '*'
    std::unique_ptr<Node> full_wildcard;    // '>' (always a leaf)
    std::vector<Entry> plain;
    // Keyed by views of group->name (groups never move); a hash map so that
    // many queue names on one subject cost O(1) each, not O(names).
    std::unordered_map<std::string_view, std::unique_ptr<QueueGroup>> queue_groups;

    bool is_empty() const {
      return children.empty() && single_wildcard == nullptr && full_wildcard == nullptr &&
             plain.empty() && queue_groups.empty();
    }
  };
  struct CollectedGroup {
    std::string_view name;
    std::vector<Entry> members;
    bool is_merged = false;  // members came from more than one pattern
  };
  // Reused across misses so a miss allocates only the result it caches.
  struct Scratch {
    std::vector<std::string_view> tokens;
    std::vector<Entry> plain;
    std::size_t plain_sources = 0;
    std::vector<CollectedGroup> groups;
    std::size_t groups_in_use = 0;
    // Name -> position in groups, kept only past kLinearGroupSearchLimit groups.
    std::unordered_map<std::string_view, std::size_t> group_positions;
  };
  static constexpr std::size_t kLinearGroupSearchLimit = 8;
  struct CacheEntry {
    std::string subject;
    std::shared_ptr<const MatchResult<Value>> result;
    bool is_referenced = false;  // matched since the sweep last passed
  };
  using CacheList = std::list<CacheEntry>;

  static void SplitInto(std::string_view subject, std::vector<std::string_view>& tokens);
  static Node* ChildFor(Node& node, std::string_view token);
  static bool PatternMatches(const std::vector<std::string_view>& pattern,
                             std::string_view subject);
  void MatchLevel(const Node& node, std::size_t index);
  void Collect(const Node& node);
  CollectedGroup* FindCollectedGroup(std::string_view name);
  std::shared_ptr<const MatchResult<Value>> BuildResult();
  void Invalidate(std::string_view pattern, const std::vector<std::string_view>& pattern_tokens);
  void EraseCacheEntry(typename CacheList::iterator entry);
  void EvictOneCacheEntry();
  void AddToCache(std::string_view subject, std::shared_ptr<const MatchResult<Value>> result);

  std::size_t max_cache_entries_;
  SubjectLimits limits_;
  Node root_;
  std::size_t size_ = 0;
  std::uint64_t generation_ = 0;
  std::uint64_t next_sequence_ = 0;
  SubjectIndexStats stats_;
  std::shared_ptr<const MatchResult<Value>> empty_result_;
  // A circle swept by clock_hand_; cache_ keys view the entries' subjects.
  CacheList cache_entries_;
  typename CacheList::iterator clock_hand_ = cache_entries_.end();
  std::unordered_map<std::string_view, typename CacheList::iterator> cache_;
  Scratch scratch_;
};

// ---------------------------------------------------------------------------
// Implementation.

template <typename Value>
Status SubjectIndex<Value>::Insert(std::string_view subject, std::string_view queue_group,
                                   Value value) {
  EMBED_RETURN_IF_ERROR(ValidateSubscribeSubject(subject, limits_));
  std::vector<std::string_view>& tokens = scratch_.tokens;
  SplitInto(subject, tokens);
  Node* node = &root_;
  for (std::string_view token : tokens) node = ChildFor(*node, token);

  Entry entry{std::move(value), next_sequence_++};
  if (queue_group.empty()) {
    node->plain.push_back(std::move(entry));
  } else {
    auto group = node->queue_groups.find(queue_group);
    if (group == node->queue_groups.end()) {
      auto created = std::make_unique<QueueGroup>();
      created->name = std::string(queue_group);
      const std::string_view name = created->name;
      group = node->queue_groups.emplace(name, std::move(created)).first;
    }
    group->second->members.push_back(std::move(entry));
  }
  ++size_;
  ++generation_;
  ++stats_.inserts;
  Invalidate(subject, tokens);
  return Status::Ok();
}

template <typename Value>
bool SubjectIndex<Value>::Remove(std::string_view subject, std::string_view queue_group,
                                 const Value& value) {
  std::vector<std::string_view>& tokens = scratch_.tokens;
  SplitInto(subject, tokens);
  // path[i] is the node reached after tokens[0..i).
  std::vector<Node*> path;
  path.reserve(tokens.size() + 1);
  path.push_back(&root_);
  for (std::string_view token : tokens) {
    Node& node = *path.back();
    Node* next = nullptr;
    if (token == kSingleTokenWildcard) {
      next = node.single_wildcard.get();
    } else if (token == kFullWildcard) {
      next = node.full_wildcard.get();
    } else {
      auto child = node.children.find(token);
      if (child != node.children.end()) next = child->second.get();
    }
    if (next == nullptr) return false;
    path.push_back(next);
  }

  Node& leaf = *path.back();
  auto same_value = [&](const Entry& e) { return e.value == value; };
  if (queue_group.empty()) {
    auto found = std::find_if(leaf.plain.begin(), leaf.plain.end(), same_value);
    if (found == leaf.plain.end()) return false;
    leaf.plain.erase(found);
  } else {
    auto group = leaf.queue_groups.find(queue_group);
    if (group == leaf.queue_groups.end()) return false;
    std::vector<Entry>& members = group->second->members;
    auto found = std::find_if(members.begin(), members.end(), same_value);
    if (found == members.end()) return false;
    members.erase(found);
    if (members.empty()) leaf.queue_groups.erase(group);
  }

  // Prune nodes left with neither subscriptions nor children, deepest first.
  for (std::size_t depth = tokens.size(); depth > 0; --depth) {
    Node& node = *path[depth];
    if (!node.is_empty()) break;
    Node& parent = *path[depth - 1];
    const std::string_view token = tokens[depth - 1];
    if (token == kSingleTokenWildcard) {
      parent.single_wildcard.reset();
    } else if (token == kFullWildcard) {
      parent.full_wildcard.reset();
    } else {
      parent.children.erase(token);
    }
  }

  --size_;
  ++generation_;
  ++stats_.removes;
  Invalidate(subject, tokens);
  return true;
}

template <typename Value>
std::shared_ptr<const MatchResult<Value>> SubjectIndex<Value>::Match(std::string_view subject) {
  ++stats_.matches;
  if (max_cache_entries_ > 0) {
    auto cached = cache_.find(subject);
    if (cached != cache_.end()) {
      ++stats_.cache_hits;
      cached->second->is_referenced = true;
      return cached->second->result;
    }
  }
  std::vector<std::string_view>& tokens = scratch_.tokens;
  SplitInto(subject, tokens);
  // NATS: a subject with an empty token matches nothing. Not cached, so such
  // subjects cannot push useful entries out.
  for (std::string_view token : tokens) {
    if (token.empty()) return empty_result_;
  }
  scratch_.plain_sources = 0;
  MatchLevel(root_, 0);
  std::shared_ptr<const MatchResult<Value>> result = BuildResult();
  // Drop the scratch copies now, so a removed Value (say a shared_ptr) is not
  // kept alive by scratch space until the next miss.
  scratch_.plain.clear();
  for (std::size_t i = 0; i < scratch_.groups_in_use; ++i) scratch_.groups[i].members.clear();
  scratch_.groups_in_use = 0;
  scratch_.group_positions.clear();
  if (max_cache_entries_ > 0 && (limits_.max_bytes == 0 || subject.size() <= limits_.max_bytes)) {
    AddToCache(subject, result);
  }
  return result;
}

template <typename Value>
void SubjectIndex<Value>::SplitInto(std::string_view subject,
                                    std::vector<std::string_view>& tokens) {
  tokens.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t end = subject.find(kTokenSeparator, start);
    if (end == std::string_view::npos) {
      tokens.push_back(subject.substr(start));
      return;
    }
    tokens.push_back(subject.substr(start, end - start));
    start = end + 1;
  }
}

template <typename Value>
typename SubjectIndex<Value>::Node* SubjectIndex<Value>::ChildFor(Node& node,
                                                                  std::string_view token) {
  auto make_node = [&] {
    auto child = std::make_unique<Node>();
    child->token = std::string(token);
    return child;
  };
  if (token == kSingleTokenWildcard) {
    if (node.single_wildcard == nullptr) node.single_wildcard = make_node();
    return node.single_wildcard.get();
  }
  if (token == kFullWildcard) {
    if (node.full_wildcard == nullptr) node.full_wildcard = make_node();
    return node.full_wildcard.get();
  }
  auto child = node.children.find(token);
  if (child != node.children.end()) return child->second.get();
  std::unique_ptr<Node> created = make_node();
  Node* raw = created.get();
  node.children.emplace(std::string_view(raw->token), std::move(created));
  return raw;
}

// Same rule as SubjectMatches, with the (valid) pattern already split.
template <typename Value>
bool SubjectIndex<Value>::PatternMatches(const std::vector<std::string_view>& pattern,
                                         std::string_view subject) {
  std::size_t position = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (position > subject.size()) return false;  // subject ran out of tokens
    const std::string_view remaining = subject.substr(position);
    if (pattern[i] == kFullWildcard) return true;  // cached subjects have no empty token
    const std::size_t end = remaining.find(kTokenSeparator);
    const std::string_view token = remaining.substr(0, end);
    if (pattern[i] != kSingleTokenWildcard && pattern[i] != token) return false;
    position = end == std::string_view::npos ? subject.size() + 1 : position + end + 1;
  }
  return position > subject.size();
}

template <typename Value>
void SubjectIndex<Value>::MatchLevel(const Node& node, std::size_t index) {
  const std::vector<std::string_view>& tokens = scratch_.tokens;
  if (index == tokens.size()) {
    Collect(node);
    return;
  }
  // NATS: '>' matches one or more tokens, and index < size here.
  if (node.full_wildcard != nullptr) Collect(*node.full_wildcard);
  if (node.single_wildcard != nullptr) MatchLevel(*node.single_wildcard, index + 1);
  auto child = node.children.find(tokens[index]);
  if (child != node.children.end()) MatchLevel(*child->second, index + 1);
}

template <typename Value>
void SubjectIndex<Value>::Collect(const Node& node) {
  if (!node.plain.empty()) {
    scratch_.plain.insert(scratch_.plain.end(), node.plain.begin(), node.plain.end());
    ++scratch_.plain_sources;
  }
  for (const auto& [name, group] : node.queue_groups) {
    // NATS: queue groups are grouped by name across all matching patterns.
    CollectedGroup* existing = FindCollectedGroup(name);
    if (existing != nullptr) {
      existing->members.insert(existing->members.end(), group->members.begin(),
                               group->members.end());
      existing->is_merged = true;
      continue;
    }
    if (scratch_.groups_in_use == scratch_.groups.size()) scratch_.groups.emplace_back();
    const std::size_t position = scratch_.groups_in_use++;
    CollectedGroup& collected = scratch_.groups[position];
    collected.name = name;
    collected.members.assign(group->members.begin(), group->members.end());
    collected.is_merged = false;
    if (scratch_.groups_in_use == kLinearGroupSearchLimit + 1) {
      for (std::size_t i = 0; i < scratch_.groups_in_use; ++i) {
        scratch_.group_positions.emplace(scratch_.groups[i].name, i);
      }
    } else if (scratch_.groups_in_use > kLinearGroupSearchLimit + 1) {
      scratch_.group_positions.emplace(name, position);
    }
  }
}

template <typename Value>
typename SubjectIndex<Value>::CollectedGroup* SubjectIndex<Value>::FindCollectedGroup(
    std::string_view name) {
  if (scratch_.groups_in_use <= kLinearGroupSearchLimit) {
    for (std::size_t i = 0; i < scratch_.groups_in_use; ++i) {
      if (scratch_.groups[i].name == name) return &scratch_.groups[i];
    }
    return nullptr;
  }
  auto found = scratch_.group_positions.find(name);
  return found == scratch_.group_positions.end() ? nullptr : &scratch_.groups[found->second];
}

template <typename Value>
std::shared_ptr<const MatchResult<Value>> SubjectIndex<Value>::BuildResult() {
  if (scratch_.plain.empty() && scratch_.groups_in_use == 0) return empty_result_;
  auto by_sequence = [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; };
  auto result = std::make_shared<MatchResult<Value>>();
  if (scratch_.plain_sources > 1) {
    std::sort(scratch_.plain.begin(), scratch_.plain.end(), by_sequence);
  }
  result->plain.reserve(scratch_.plain.size());
  for (const Entry& entry : scratch_.plain) result->plain.push_back(entry.value);

  auto groups_end = scratch_.groups.begin() + static_cast<std::ptrdiff_t>(scratch_.groups_in_use);
  for (auto group = scratch_.groups.begin(); group != groups_end; ++group) {
    if (group->is_merged) std::sort(group->members.begin(), group->members.end(), by_sequence);
  }
  std::sort(scratch_.groups.begin(), groups_end,
            [](const CollectedGroup& a, const CollectedGroup& b) {
              return a.members.front().sequence < b.members.front().sequence;
            });
  result->queue_groups.reserve(scratch_.groups_in_use);
  for (auto group = scratch_.groups.begin(); group != groups_end; ++group) {
    std::vector<Value>& members = result->queue_groups.emplace_back();
    members.reserve(group->members.size());
    for (const Entry& entry : group->members) members.push_back(entry.value);
  }
  return result;
}

template <typename Value>
void SubjectIndex<Value>::Invalidate(std::string_view pattern,
                                     const std::vector<std::string_view>& pattern_tokens) {
  if (cache_.empty()) return;
  // A literal pattern matches only the identical subject: one lookup
  // (nats-server's sublist does the same).
  bool is_literal = true;
  for (std::string_view token : pattern_tokens) {
    if (token == kSingleTokenWildcard || token == kFullWildcard) is_literal = false;
  }
  if (is_literal) {
    auto cached = cache_.find(pattern);
    if (cached != cache_.end()) EraseCacheEntry(cached->second);
    return;
  }
  for (auto entry = cache_entries_.begin(); entry != cache_entries_.end();) {
    auto next = std::next(entry);
    if (PatternMatches(pattern_tokens, entry->subject)) EraseCacheEntry(entry);
    entry = next;
  }
}

template <typename Value>
void SubjectIndex<Value>::EraseCacheEntry(typename CacheList::iterator entry) {
  if (entry == clock_hand_) ++clock_hand_;
  cache_.erase(std::string_view(entry->subject));
  cache_entries_.erase(entry);
}

template <typename Value>
void SubjectIndex<Value>::EvictOneCacheEntry() {
  // Precondition: the cache is not empty. Ends within two turns of the hand.
  while (true) {
    if (clock_hand_ == cache_entries_.end()) clock_hand_ = cache_entries_.begin();
    if (!clock_hand_->is_referenced) break;
    clock_hand_->is_referenced = false;
    ++clock_hand_;
  }
  EraseCacheEntry(clock_hand_);
}

template <typename Value>
void SubjectIndex<Value>::AddToCache(std::string_view subject,
                                     std::shared_ptr<const MatchResult<Value>> result) {
  while (cache_.size() >= max_cache_entries_) EvictOneCacheEntry();
  // Just behind the hand, so a new entry is the last the sweep reaches.
  auto entry =
      cache_entries_.insert(clock_hand_, CacheEntry{std::string(subject), std::move(result)});
  cache_.emplace(std::string_view(entry->subject), entry);
}

}  // namespace embed::subject
