// Kill points: named places where a test can make the process die with
// SIGKILL, to prove crash recovery at exactly that point.
//
// Set PAYENGINE_KILLPOINT="name:N" and the process kills itself the N-th
// time execution passes `killpoint("name")`. Unset, a kill point costs one
// predictable branch.
#pragma once

namespace payengine {

void killpoint(const char* name);
// True when a kill point is configured: lets callers skip building dynamic names.
bool killpoints_armed();

}  // namespace payengine
