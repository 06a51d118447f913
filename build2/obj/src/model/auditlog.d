build2/obj/src/model/auditlog.o: src/model/auditlog.c src/model/specs.h \
 src/model/spec.h src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/base.h
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
