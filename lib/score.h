/*
 * score.h: what policy-score does, as library calls: fit reward models
 * (rfit.h), read and write them (rmodel.h), and score frames with them or
 * with forests (scorer.h).  One include for the programs that use all
 * three; file formats in man/policy-model.5.
 */
#ifndef PT_SCORE_H
#define PT_SCORE_H

#include "rfit.h"
#include "rmodel.h"
#include "scorer.h"

#endif
