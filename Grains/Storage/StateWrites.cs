using Orleans.Storage;

namespace Glance.Grains.Storage;

/// <summary>
/// The one way a grain here changes its persisted state: the new state becomes the grain's
/// only once storage has it. A failed write leaves the grain with the state that is in storage
/// (nothing half-written, nothing shown that a restart would lose) and the caller gets the error.
/// A write refused for its ETag (<see cref="InconsistentStateException"/>: storage took an earlier
/// write whose answer was lost, or another activation wrote) reads what storage holds first, so the
/// grain goes on from the stored state rather than from one storage no longer has.
/// </summary>
public static class StateWrites
{
    /// <summary>
    /// Makes <paramref name="draft"/> the state, in storage first. <paramref name="viewsChanged"/>
    /// drops whatever the grain derives from its state, after the swap and again after a roll-back.
    /// </summary>
    public static async Task ReplaceAsync<T>(this IPersistentState<T> state, T draft, Action? viewsChanged = null)
    {
        var before = state.State;
        state.State = draft;
        viewsChanged?.Invoke();
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception failure)
        {
            state.State = before;
            if (failure is InconsistentStateException)
            {
                try
                {
                    await state.ReadStateAsync();
                }
                catch (Exception)
                {
                    // Storage does not answer now: the next write meets the same refusal and reads again.
                }
            }
            viewsChanged?.Invoke();
            throw;
        }
    }
}
