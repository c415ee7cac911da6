#pragma once
/// @file
/// @brief A non-owning reference to a callable: what std::function would be for a
///        callback that never outlives the call, without its heap allocation.

#include <type_traits>
#include <utility>

namespace ragtune::util {

template <class Signature>
class function_ref;

/// @brief Calls a callable it does not own; the callable must outlive the reference.
template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref>>>
  function_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor): used like a std::function parameter
      : object_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace ragtune::util
