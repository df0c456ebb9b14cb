# Reference values: design-based SEs after post-stratification and raking
# (calibration-aware, as R survey computes them) and with the weights as fixed.
#
# Run from this directory:   Rscript calibration_reference.R
# Writes: apiclus1.csv (survey::api's apiclus1, the columns the tests use),
# calibration_values.csv (long: case, variance, by_level, outcome, estimate,
# std_error) and versions.txt. The tests in tests/survey/test_calibrated_variance.py
# read these files and never call R.
#
# Data: survey::api, apiclus1 = one-stage cluster sample of 15 California school
# districts (dnum) from 757, 183 schools, weights pw, fpc = 757 (Lumley 2010,
# "Complex Surveys", chapter 2; documented example data of the survey package).
# Calibration: the documented examples of ?postStratify and ?rake (population
# counts of school types and of sch.wide), iterated to full convergence.

suppressPackageStartupMessages(library(survey))
options(digits = 15)
data(api)
write.csv(apiclus1[, c("cds", "stype", "dnum", "api00", "api99", "enroll", "meals",
                       "comp.imp", "sch.wide", "pw", "fpc")],
          "apiclus1.csv", row.names = FALSE)

pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
ctrl <- list(maxit = 100, epsilon = 1e-12)

out <- list()
add_mean <- function(case, variance, design, by = NULL) {
  f <- ~api00 + api99 + enroll
  if (is.null(by)) {
    m <- svymean(f, design)
    out[[length(out) + 1]] <<- data.frame(case = case, variance = variance, by_level = "",
                                          outcome = names(coef(m)), estimate = coef(m),
                                          std_error = SE(m))
  } else {
    b <- svyby(f, by, design, svymean)
    for (o in c("api00", "api99", "enroll")) {
      out[[length(out) + 1]] <<- data.frame(case = case, variance = variance,
                                            by_level = as.character(b[[1]]), outcome = o,
                                            estimate = b[[o]], std_error = b[[paste0("se.", o)]])
    }
  }
}

for (fpc in c(TRUE, FALSE)) {
  tag <- if (fpc) "fpc" else "nofpc"
  # call: svydesign(id = ~dnum, weights = ~pw, data = apiclus1[, fpc = ~fpc])
  d <- if (fpc) svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
       else svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
  # call: postStratify(d, ~stype, pop.types)
  dps <- postStratify(d, ~stype, pop.types)
  # call: rake(d, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = ctrl)
  drk <- rake(d, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = ctrl)
  for (cal in list(list("poststratify", dps), list("rake", drk))) {
    case <- paste(cal[[1]], tag, sep = "_")
    dcal <- cal[[2]]
    add_mean(case, "calibrated", dcal)
    add_mean(case, "calibrated", dcal, by = ~comp.imp)
    # the same calibrated weights treated as fixed sampling weights
    fixed <- apiclus1
    fixed$w_cal <- weights(dcal)
    dfix <- if (fpc) svydesign(id = ~dnum, weights = ~w_cal, data = fixed, fpc = ~fpc)
            else svydesign(id = ~dnum, weights = ~w_cal, data = fixed)
    add_mean(case, "fixed_weights", dfix)
    add_mean(case, "fixed_weights", dfix, by = ~comp.imp)
  }
}
write.csv(do.call(rbind, out), "calibration_values.csv", row.names = FALSE)
writeLines(c(paste("R:", R.version.string), paste("platform:", R.version$platform),
             paste("survey:", as.character(packageVersion("survey"))),
             "source: Debian bookworm packages r-base-core r-cran-survey",
             paste("generated:", format(Sys.Date()))), "versions.txt")
