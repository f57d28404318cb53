package dev.lanes;

/**
 * Where a plan step finds a tensor: the plan's input, a slot of the execution context's arena (by slot id), a
 * constant (by constant id), or, for a step run eagerly by {@link Launch}, the launch's argument {@code id};
 * {@code offset} is the element offset of the tensor in it.
 */
record Ref(int kind, int id, long offset) {
    static final int INPUT = 0;
    static final int SLOT = 1;
    static final int CONST = 2;
    static final int ARG = 3;

    // written out: a record's generated equals and hashCode link through invokedynamic at their first call, which in a
    // young JVM (a plan compiled at a service's start) costs milliseconds, and run as method-handle chains until compiled
    @Override
    public boolean equals(Object o) {
        return o instanceof Ref r && kind == r.kind && id == r.id && offset == r.offset;
    }

    @Override
    public int hashCode() {
        return (kind * 31 + id) * 31 + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case INPUT -> "input";
            case SLOT -> "%" + id;
            case ARG -> "arg" + id;
            default -> "const" + id;
        } + (offset == 0 ? "" : "+" + offset);
    }
}
