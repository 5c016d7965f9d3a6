#pragma once
// Everything a user of xgrad needs.
#include <xgrad/autograd.hpp>
#include <xgrad/checkpoint.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/format.hpp>
#include <xgrad/gradcheck.hpp>
#include <xgrad/init.hpp>
#include <xgrad/lr_finder.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/random.hpp>
#include <xgrad/regularization.hpp>
#include <xgrad/schedule.hpp>
#include <xgrad/var.hpp>
