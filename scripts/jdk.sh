# Sourced by ./pulmo, ./run-tests and .ci/run: points JAVA_HOME at a JDK 25 or newer.
# JAVA_HOME wins when it is new enough; otherwise the newest JDK under /usr/lib/jvm is taken.

pulmo_java_major() { # prints the feature version of the java at $1/bin/java, or nothing
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1)
  case "$v" in 1.*) v=${v#1.}; v=${v%%.*} ;; esac
  printf '%s' "$v"
}

pulmo_find_jdk() {
  local want=25 best="" best_v=0 d v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$(pulmo_java_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$want" ]; then return 0; fi
  fi
  for d in /usr/lib/jvm/*/; do
    d=${d%/}
    [ -x "$d/bin/javac" ] || continue
    v=$(pulmo_java_major "$d")
    [ -n "$v" ] || continue
    if [ "$v" -gt "$best_v" ]; then best=$d; best_v=$v; fi
  done
  if [ -z "$best" ] || [ "$best_v" -lt "$want" ]; then
    echo "pulmo: no JDK $want or newer found (JAVA_HOME=${JAVA_HOME:-unset}; newest under /usr/lib/jvm: ${best:-none}${best:+, version $best_v})." >&2
    echo "pulmo: install a JDK $want+ (for example Temurin 25) and set JAVA_HOME to it." >&2
    return 1
  fi
  export JAVA_HOME=$best
}

pulmo_find_jdk || return 1 2>/dev/null || exit 1   # sourced: back to the caller's shell, not out of it
export PATH="$JAVA_HOME/bin:$PATH"
command -v mvn >/dev/null 2>&1 || { echo "pulmo: Maven (mvn) is not on PATH; install Apache Maven 3.8+." >&2; return 1 2>/dev/null || exit 1; }
# Maven 3.8/3.9 load a Guava that calls sun.misc.Unsafe, which JDK 24+ warns about in four lines at every build; the
# JDK chosen above (25+) knows the switch that allows it quietly. Our own code does not use sun.misc.Unsafe.
case " ${MAVEN_OPTS:-} " in *--sun-misc-unsafe-memory-access*) ;; *) export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;; esac
