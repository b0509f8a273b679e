// Everything a user of dqp needs.
#pragma once

#include "dqp/active_set_solve.hpp"
#include "dqp/batch.hpp"
#include "dqp/gradients.hpp"
#include "dqp/kkt_solver.hpp"
#include "dqp/layer.hpp"
#include "dqp/owned_problem.hpp"
#include "dqp/problem.hpp"
#include "dqp/qp_solver.hpp"
#include "dqp/settings.hpp"
#include "dqp/solution.hpp"
#include "dqp/status.hpp"
#include "dqp/storage.hpp"
#include "dqp/timings.hpp"
#include "dqp/types.hpp"
