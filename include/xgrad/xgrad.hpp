#pragma once
// Everything a user of xgrad needs: plots too when this build of xgrad has them (XGRAD_HAS_PLOT).
#include <xgrad/config.hpp>

#include <xgrad/autograd.hpp>
#include <xgrad/checkpoint.hpp>
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/files.hpp>
#include <xgrad/format.hpp>
#include <xgrad/gradcheck.hpp>
#include <xgrad/init.hpp>
#include <xgrad/lr_finder.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/primitive.hpp>
#include <xgrad/process_group.hpp>
#include <xgrad/random.hpp>
#include <xgrad/regularization.hpp>
#include <xgrad/schedule.hpp>
#include <xgrad/train.hpp>
#include <xgrad/var.hpp>

#if XGRAD_HAS_PLOT
#include <xgrad/plot.hpp>
#endif
