namespace Glance.Grains.Storage;

/// <summary>
/// The image data store's service did not answer, after its client's own tries
/// (<see cref="Hosting.AzureCluster.Bounded"/>): the request fails for now, and another try at
/// once would only wait as long again. The API answers it 503 and does not retry it.
/// </summary>
[GenerateSerializer, Alias("glance.storage-unavailable")]
public sealed class StorageUnavailableException : IOException
{
    /// <summary>A failure of the store's service to answer about <paramref name="key"/>.</summary>
    public StorageUnavailableException(string key, Exception failure)
        : base($"The image data store did not answer for '{key}': {failure.Message}", failure)
    {
    }

    /// <summary>
    /// True when <paramref name="exception"/>, thrown by a storage client, means its service did
    /// not answer (timeouts, refused connections, 5xx after every try) rather than that the
    /// request was wrong or that <paramref name="cancellationToken"/> (the caller) gave up.
    /// </summary>
    public static bool IsOutage(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        _ when cancellationToken.IsCancellationRequested => false,
        Azure.RequestFailedException failed => failed.Status is 0 or >= 500,
        // The SDK's retry policy gives up with every try's failure in one AggregateException.
        AggregateException tries => tries.InnerExceptions.Count > 0 && tries.InnerExceptions.All(e => IsOutage(e, cancellationToken)),
        OperationCanceledException or TimeoutException or HttpRequestException or System.Net.Sockets.SocketException => true,
        IOException { InnerException: System.Net.Sockets.SocketException } => true,
        _ => false,
    };
}
