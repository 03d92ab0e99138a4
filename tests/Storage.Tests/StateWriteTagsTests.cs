using Azure.Core;
using Azure.Storage.Blobs;
using Glance.Grains.Recovery;

namespace Glance.Storage.Tests;

/// <summary>
/// The tag every grain-state write carries in the azure profile (StateWriteTags), on Azurite: the
/// repair's incremental pass finds the states written since a time by it, so a write it missed
/// would be a crash trace the repair never sees.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StateWriteTagsTests(AzuriteFixture azurite)
{
    private const string Kind = "image-glance.image";

    [Fact]
    public async Task A_state_write_is_found_by_its_kind_and_time_and_nothing_else_is_tagged()
    {
        var clock = new ManualClock { Now = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero) };
        var container = await TaggedContainerAsync(clock);
        var name = container.Name;
        var other = await TaggedContainerAsync(clock, name + "-other", tagging: name);

        var early = Guid.NewGuid();
        await container.GetBlobClient($"{Kind}/{early:N}.json").UploadAsync(BinaryData.FromString("{}"));
        clock.Now += TimeSpan.FromMinutes(10);
        var late = Guid.NewGuid();
        await container.GetBlobClient($"{Kind}/{late:N}.json").UploadAsync(BinaryData.FromString("{}"));
        // A task's state, a blob of another container, and a metadata write (no content) are not image writes.
        await container.GetBlobClient($"task-glance.task/{Guid.NewGuid():N}.json").UploadAsync(BinaryData.FromString("{}"));
        await other.GetBlobClient($"{Kind}/{Guid.NewGuid():N}.json").UploadAsync(BinaryData.FromString("{}"));
        clock.Now += TimeSpan.FromMinutes(10);
        await container.GetBlobClient($"{Kind}/{early:N}.json").SetMetadataAsync(new Dictionary<string, string> { ["touched"] = "yes" });

        Assert.Equal(new[] { $"{Kind}/{early:N}.json", $"{Kind}/{late:N}.json" }.Order(),
            (await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow().AddHours(-1)))).Order());
        Assert.Equal([$"{Kind}/{late:N}.json"], await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow().AddMinutes(-15))));
        Assert.Empty(await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow().AddMinutes(-5))));
        Assert.Empty(await FoundAsync(other, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow().AddHours(-1))));

        // A state written in blocks (Put Block, then Put Block List) is tagged by its block list.
        var blocks = Guid.NewGuid();
        await container.GetBlobClient($"{Kind}/{blocks:N}.json").UploadAsync(BinaryData.FromBytes(new byte[4096]),
            new Azure.Storage.Blobs.Models.BlobUploadOptions { TransferOptions = new() { InitialTransferSize = 1024, MaximumTransferSize = 1024 } });
        Assert.Equal([$"{Kind}/{blocks:N}.json"], await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow())));

        // Written again: the tag moves with the write.
        await container.GetBlobClient($"{Kind}/{early:N}.json").UploadAsync(BinaryData.FromString("{\"again\":1}"), overwrite: true);
        Assert.Equal(new[] { $"{Kind}/{blocks:N}.json", $"{Kind}/{early:N}.json" }.Order(),
            (await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow()))).Order());

        await container.DeleteAsync();
        await other.DeleteAsync();
    }

    [Fact]
    public async Task States_written_since_a_time_are_found_past_the_first_5000_of_a_container()
    {
        // Azurite 3.37.0 looked at a container's first 5,000 blobs only (scripts/azurite-fix.js);
        // the Azure service pages its index. The states changed since the pass are spread over all.
        var clock = new ManualClock { Now = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero) };
        var container = await TaggedContainerAsync(clock);
        var ids = Enumerable.Range(0, 6000).Select(_ => Guid.NewGuid()).Order().ToList();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, _) =>
            await container.GetBlobClient($"{Kind}/{id:N}.json").UploadAsync(BinaryData.FromString("{}")));
        clock.Now += TimeSpan.FromMinutes(10);
        var changed = ids.Where((_, i) => i % 100 == 99).ToList();
        foreach (var id in changed)
        {
            await container.GetBlobClient($"{Kind}/{id:N}.json").UploadAsync(BinaryData.FromString("{\"changed\":1}"), overwrite: true);
        }

        var found = await FoundAsync(container, StateWriteTags.WrittenSince(Kind, clock.GetUtcNow()));
        Assert.Equal(changed.Select(id => $"{Kind}/{id:N}.json").Order(), found.Order());

        await container.DeleteAsync();
    }

    /// <summary>A new container, through a client that tags its state writes like the silos' (<paramref name="tagging"/>: the container the policy names).</summary>
    private async Task<BlobContainerClient> TaggedContainerAsync(TimeProvider clock, string? name = null, string? tagging = null)
    {
        name ??= $"state-tags-{Guid.NewGuid():N}";
        var options = AzuriteFixture.ClientOptions();
        options.AddPolicy(new StateWriteTags(tagging ?? name, clock), HttpPipelinePosition.PerCall);
        var container = new BlobContainerClient(azurite.ConnectionString, name, options);
        await container.CreateIfNotExistsAsync();
        return container;
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static async Task<List<string>> FoundAsync(BlobContainerClient container, string query)
    {
        var found = new List<string>();
        await foreach (var blob in container.FindBlobsByTagsAsync(query))
        {
            found.Add(blob.BlobName);
        }
        return found;
    }
}
