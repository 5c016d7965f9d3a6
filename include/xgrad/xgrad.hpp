#pragma once
// Everything a user of xgrad needs.
#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/format.hpp>
#include <xgrad/gradcheck.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/random.hpp>
#include <xgrad/var.hpp>
