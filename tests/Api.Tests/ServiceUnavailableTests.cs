using Glance.Api.Errors;

namespace Glance.Api.Tests;

/// <summary>
/// Which failures the API answers 503 (a part of the cluster gone for now) rather than 500, and
/// which of them a GET tries once more. The shapes are the ones the clients throw: Orleans wraps a
/// grain storage failure, and Azure.Core reports a network timeout as TaskCanceledException, after
/// its tries as an AggregateException of them.
/// </summary>
public sealed class ServiceUnavailableTests
{
    private static Exception StorageProviderFailure(Exception inner) =>
        new OrleansException("Error from storage provider AzureBlobGrainStorage.image during ReadStateAsync for grain glance.image/0", inner);

    [Fact]
    public void A_grain_storage_timeout_after_the_clients_tries_is_a_503_not_tried_again()
    {
        var timedOut = StorageProviderFailure(new AggregateException("Retry failed after 3 tries.",
            Enumerable.Range(0, 3).Select(_ => new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout of 0:00:10."))));

        Assert.True(ServiceUnavailable.Is(timedOut));
        Assert.False(ServiceUnavailable.IsWorthRetrying(timedOut));
        Assert.True(ServiceUnavailable.Is(StorageProviderFailure(new TaskCanceledException("timed out"))));
    }

    [Fact]
    public void A_silo_that_went_away_or_a_stale_write_is_a_503()
    {
        Assert.True(ServiceUnavailable.IsWorthRetrying(new TimeoutException("Response did not arrive on time")));
        Assert.True(ServiceUnavailable.IsWorthRetrying(StorageProviderFailure(new Azure.RequestFailedException(503, "Server busy"))));
        // A write refused for its ETag did not happen, and Orleans replaces the activation that met it.
        Assert.True(ServiceUnavailable.Is(new Orleans.Storage.InconsistentStateException("ETag mismatch", "stored", "current")));
    }

    [Fact]
    public void A_fault_of_the_service_itself_stays_a_500()
    {
        Assert.False(ServiceUnavailable.Is(new InvalidOperationException("a bug")));
        Assert.False(ServiceUnavailable.Is(StorageProviderFailure(new Azure.RequestFailedException(400, "The request is malformed"))));
    }
}
