using System.Net.Sockets;

namespace Glance.Api.Errors;

/// <summary>
/// Failures that say "a part of the cluster is gone for now", not "this request is wrong": a
/// silo that died (calls to it are rejected until the cluster declares it dead and its grains
/// come back elsewhere), a grain call that timed out, a storage service that does not answer.
/// They are answered 503 with Retry-After; a safe request (GET, HEAD) is retried once first,
/// unless the storage client already spent its tries.
/// </summary>
public static class ServiceUnavailable
{
    /// <summary>The message of the 503 answer.</summary>
    public const string Message = "The image service is temporarily unavailable. Retry the request.";

    /// <summary>Seconds a client is told to wait (the cluster's failure-detection window is about ten).</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>True when <paramref name="exception"/> or one of its causes is such a failure.</summary>
    public static bool Is(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Grains.Storage.StorageUnavailableException:
                    return true;
                case OrleansMessageRejectionException or SiloUnavailableException or Orleans.Runtime.Messaging.ConnectionFailedException
                    or TimeoutException or SocketException or HttpRequestException or IOException { InnerException: SocketException }:
                    return true;
                // A storage client's network timeout (Azure.Core throws TaskCanceledException, and after its
                // tries an AggregateException of them, wrapped by Orleans' grain storage). The client's own
                // going away is answered before this is asked.
                case OperationCanceledException:
                    return true;
                // The grain's write met a newer stored state (its own earlier write whose answer was
                // lost, or another activation's): it did not happen, the grain now holds what is
                // stored, and the same request again can succeed.
                case Orleans.Storage.InconsistentStateException:
                    return true;
                case Azure.RequestFailedException failed when failed.Status is 0 or >= 500:
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(Is):
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// True when a safe request that failed with <paramref name="exception"/> may succeed if tried
    /// once more at once: a silo's death, not a storage service that already spent its own tries
    /// (<see cref="Grains.Storage.StorageUnavailableException"/>, or a storage client's timeouts; a
    /// second round would double the wait for the same 503).
    /// </summary>
    public static bool IsWorthRetrying(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            // An AggregateException's InnerException is its first try's failure: the walk reaches it.
            if (e is Grains.Storage.StorageUnavailableException or OperationCanceledException)
            {
                return false;
            }
        }
        return Is(exception);
    }
}
