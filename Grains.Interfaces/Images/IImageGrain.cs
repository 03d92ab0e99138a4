using Glance.Grains.Identity;

namespace Glance.Grains.Images;

/// <summary>
/// One image's metadata, keyed by the image id. Every method takes the <see cref="Caller"/>
/// and enforces Glance's rules itself: an image the caller may not see is "not found"
/// (<see cref="Errors.ErrorKind.NotFound"/>), never "forbidden". Rule violations are thrown
/// as <see cref="Errors.GlanceException"/>.
/// </summary>
[Alias("glance.IImageGrain")]
public interface IImageGrain : IGrainWithGuidKey
{
    /// <summary>Registers a new image (status queued). Conflict if the id was ever used.</summary>
    [Alias("create")]
    Task<ImageRecord> CreateAsync(Caller caller, ImageDraft draft);

    /// <summary>The image as the caller may see it.</summary>
    [ReadOnly, Alias("get")]
    Task<ImageRecord> GetAsync(Caller caller);

    /// <summary>Applies patch operations atomically: all of them or none.</summary>
    [Alias("update")]
    Task<ImageRecord> UpdateAsync(Caller caller, ImmutableArray<PatchOperation> operations);

    /// <summary>Adds a tag (idempotent).</summary>
    [Alias("tag")]
    Task TagAsync(Caller caller, string tag);

    /// <summary>Removes a tag; not found if the image does not carry it.</summary>
    [Alias("untag")]
    Task UntagAsync(Caller caller, string tag);

    /// <summary>Hides an active image's data from non-admins (active or deactivated only).</summary>
    [Alias("deactivate")]
    Task DeactivateAsync(Caller caller);

    /// <summary>Makes a deactivated image usable again.</summary>
    [Alias("reactivate")]
    Task ReactivateAsync(Caller caller);

    /// <summary>Deletes the image; forbidden while it is protected.</summary>
    [Alias("delete")]
    Task DeleteAsync(Caller caller);

    /// <summary>Shares the image with a project (owner only, shared images only).</summary>
    [Alias("add-member")]
    Task<ImageMember> AddMemberAsync(Caller caller, string memberId);

    /// <summary>The members the caller may see: all for the owner, its own entry for a member.</summary>
    [ReadOnly, Alias("list-members")]
    Task<ImmutableArray<ImageMember>> ListMembersAsync(Caller caller);

    /// <summary>One member; not found for every failure, as Glance hides why.</summary>
    [ReadOnly, Alias("get-member")]
    Task<ImageMember> GetMemberAsync(Caller caller, string memberId);

    /// <summary>A member answers a share (the member itself or an admin, never the owner).</summary>
    [Alias("set-member-status")]
    Task<ImageMember> SetMemberStatusAsync(Caller caller, string memberId, MemberStatus status);

    /// <summary>Stops sharing with a project (owner only).</summary>
    [Alias("remove-member")]
    Task RemoveMemberAsync(Caller caller, string memberId);

    /// <summary>
    /// Re-sends this image's entry to its catalog shard. Used by recovery after a crash
    /// between the image write and the catalog update; idempotent.
    /// </summary>
    [Alias("publish-to-catalog")]
    Task PublishToCatalogAsync();
}
