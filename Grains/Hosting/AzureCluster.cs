using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Glance.Grains.Storage;
using Orleans.Configuration;

namespace Glance.Grains.Hosting;

/// <summary>What the azure profile's silos and clients share: storage clients, addresses, failure detection.</summary>
public static class AzureCluster
{
    /// <summary>The Table service of <paramref name="azure"/>'s account.</summary>
    public static TableServiceClient Tables(AzureOptions azure) => new(azure.ConnectionString, Bounded(new TableClientOptions()));

    /// <summary>The Blob service of <paramref name="azure"/>'s account, at the service version the image store pins.</summary>
    public static BlobServiceClient Blobs(AzureOptions azure) => new(azure.ConnectionString, Bounded(AzureBlobImageDataStore.CreateClientOptions()));

    /// <summary>The Blob service the silos' grain storage writes through: every state write tagged with its time (<see cref="Recovery.StateWriteTags"/>).</summary>
    public static BlobServiceClient GrainStateBlobs(AzureOptions azure)
    {
        var options = Bounded(AzureBlobImageDataStore.CreateClientOptions());
        options.AddPolicy(new Recovery.StateWriteTags(azure.GrainStateContainer, TimeProvider.System), Azure.Core.HttpPipelinePosition.PerCall);
        return new BlobServiceClient(azure.ConnectionString, options);
    }

    /// <summary>
    /// Retries and timeouts that end well within a request's time when the storage service is
    /// gone (the SDK's defaults wait up to 100 s per try): the request then fails with a 503.
    /// </summary>
    public static T Bounded<T>(T options) where T : Azure.Core.ClientOptions
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(300);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    /// <summary>
    /// Failure detection tuned so that a dead silo is declared dead within about ten seconds
    /// (Orleans' defaults take about half a minute): probes every 2 s, 3 missed probes, 2 votes.
    /// </summary>
    public static void FailureDetection(ClusterMembershipOptions membership)
    {
        membership.ProbeTimeout = TimeSpan.FromSeconds(2);
        membership.NumMissedProbesLimit = 3;
        membership.NumVotesForDeathDeclaration = 2;
        membership.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>
    /// How long a grain call may wait for its answer (Orleans' default is 30 s): a call caught by a
    /// silo's death fails within the failure-detection window plus a little, not half a minute.
    /// </summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long an API node's (an Orleans client's) grain call may wait for its answer. A silo fails
    /// its calls to a silo once that silo is declared dead, but nothing tells a client that the gateway
    /// it sent a call through has died: the call waits for this timeout. So this bounds how long an API
    /// node fails requests after a silo is killed (with 15 s, the fault test saw ~14 s windows). Every
    /// call from an API node is a metadata call (bytes never pass through a grain), well under it.
    /// </summary>
    public static readonly TimeSpan ClientResponseTimeout = TimeSpan.FromSeconds(7);

    /// <summary>
    /// The configured address, else loopback: a silo listens only where it is told to, so an
    /// operator names the address of a machine's cluster network (scripts/cluster.sh names one per
    /// network namespace).
    /// </summary>
    public static IPAddress AdvertisedAddress(GlanceOptions options) =>
        options.AdvertisedAddress is { } configured ? IPAddress.Parse(configured) : IPAddress.Loopback;
}
