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
