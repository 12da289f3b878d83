/*
 * prep.h: what policy-prep does, as library calls: fit a manifest from CSV
 * training rows (manifest_fit.h), apply a manifest to CSV rows giving
 * frames (apply.h), write frames back as CSV/TSV (cat.h), and repartition
 * frame streams (partition.h).  One include for the program that does all
 * four.
 */
#ifndef PT_PREP_H
#define PT_PREP_H

#include "apply.h"
#include "cat.h"
#include "manifest_fit.h"
#include "partition.h"

#endif
