namespace Glance.Grains.Hosting;

/// <summary>
/// Sends a grain call again when the cluster rejected it before running it (a silo that is
/// stopping refuses new requests with "Silo stopping"; a silo that no longer hosts the grain
/// rejects the message so the caller's directory entry is dropped). A rejected request never
/// ran, so any call, a write included, is safe to send again; the next try finds the grain's new
/// activation. So a graceful stop of a silo fails no request. A call that timed out or whose silo
/// died is not retried here (it may have run).
/// </summary>
internal sealed class RejectedCallRetry : IOutgoingGrainCallFilter
{
    private const int Attempts = 4;

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await context.Invoke();
                if (attempt == Attempts || context.Response?.Exception is not OrleansMessageRejectionException)
                {
                    return;
                }
            }
            catch (OrleansMessageRejectionException) when (attempt < Attempts)
            {
                // Rejected (thrown rather than answered): as above.
            }
            // A stopping silo hands its grains over within a second or two.
            await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt));
        }
    }
}
